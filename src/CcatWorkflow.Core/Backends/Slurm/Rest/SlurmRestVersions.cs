using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>
/// Which API versions slurmrestd offers, read from its own OpenAPI description
/// (<c>/openapi/v3</c>: one key per path, <c>/slurm/v0.0.38/jobs</c>), and what to say when it
/// offers none the module speaks — a server of Slurm 23.02 and later serves v0.0.39 and newer
/// only, whose DTOs the module does not have (no such server runs here to test them against).
/// </summary>
public static partial class SlurmRestVersions
{
    /// <summary>Where slurmrestd describes its paths.</summary>
    public const string OpenApiPath = "openapi/v3";

    [GeneratedRegex(@"^/(slurm|slurmdb)/(v\d{1,6}\.\d{1,6}\.\d{1,6})/", RegexOptions.CultureInvariant)]
    private static partial Regex VersionedPath();

    [GeneratedRegex(@"^v(\d{1,6})\.(\d{1,6})\.(\d{1,6})$", RegexOptions.CultureInvariant)]
    private static partial Regex VersionParts();

    /// <summary>The versions each family's paths carry in an OpenAPI description, newest first; empty when the text is not one.</summary>
    public static IReadOnlyDictionary<SlurmRestFamily, IReadOnlyList<string>> Offered(string? openApiJson)
    {
        var found = new Dictionary<SlurmRestFamily, HashSet<string>>();
        try
        {
            using var doc = JsonDocument.Parse(openApiJson ?? "");
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("paths", out var paths) && paths.ValueKind == JsonValueKind.Object)
            {
                foreach (var path in paths.EnumerateObject())
                {
                    if (VersionedPath().Match(path.Name) is not { Success: true } m) continue;
                    var family = m.Groups[1].Value == "slurm" ? SlurmRestFamily.Slurm : SlurmRestFamily.SlurmDb;
                    if (!found.TryGetValue(family, out var set)) found[family] = set = new HashSet<string>(StringComparer.Ordinal);
                    set.Add(m.Groups[2].Value);
                }
            }
        }
        catch (JsonException)
        {
            // not a description: nothing is known to be offered
        }

        return found.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.OrderByDescending(SortKey).ToList());
    }

    /// <summary>The newest version of <paramref name="spoken"/> the server offers; null when it offers none of them.</summary>
    public static string? Choose(IReadOnlyList<string> spoken, IReadOnlyList<string> offered)
    {
        ArgumentNullException.ThrowIfNull(spoken);
        ArgumentNullException.ThrowIfNull(offered);
        return spoken.Where(offered.Contains).OrderByDescending(SortKey).FirstOrDefault();
    }

    /// <summary>
    /// Why <paramref name="family"/> cannot be spoken with the server at <paramref name="server"/>:
    /// the versions it offers (all families, as its description lists them; or that it did not
    /// say), the versions the module speaks, and what to do instead.
    /// </summary>
    public static string Unsupported(string server, SlurmRestFamily family, IReadOnlyList<string> spoken, IReadOnlyDictionary<SlurmRestFamily, IReadOnlyList<string>>? offered)
    {
        ArgumentNullException.ThrowIfNull(spoken);
        var prefix = PrefixOf(family);
        var theirs = offered is null || offered.Count == 0
            ? $"it does not say which it serves (its {OpenApiPath} description could not be read)"
            : "it serves " + string.Join("; ", offered.OrderBy(kv => kv.Key).Select(kv => $"{PrefixOf(kv.Key)} {string.Join(", ", kv.Value)}"));
        var newer = offered is not null && offered.Values.SelectMany(v => v).Any(v => SortKey(v).CompareTo(SortKey(spoken[0])) > 0);
        return $"slurmrestd at {server} serves none of the {prefix} API versions the module speaks ({string.Join(", ", spoken)}, Slurm 21.08–22.05): {theirs}. "
            + (newer
                ? "Its API is newer (Slurm 23.02 and later), and the module does not speak it yet: use SLURM_TRANSPORT=ssh or cli with this cluster."
                : "Use SLURM_TRANSPORT=ssh or cli with this cluster.");
    }

    private static string PrefixOf(SlurmRestFamily family) => family == SlurmRestFamily.Slurm ? "slurm" : "slurmdb";

    // v0.0.9 < v0.0.38 < v0.0.40: by number, not by text.
    private static (int, int, int) SortKey(string version) =>
        VersionParts().Match(version) is { Success: true } m
            ? (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture))
            : (-1, -1, -1);
}
