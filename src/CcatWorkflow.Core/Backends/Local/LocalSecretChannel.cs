using System.Text;
using System.Text.Json;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// How a Local job's secret variables travel from the submitter to its runner: as one JSON
/// array of <c>{"name", "value"}</c> on the runner's stdin (a pipe only the two processes hold),
/// never in job.json, a record or an argument. The runner reads it only when job.json names
/// secrets, and checks that it got exactly those names.
/// </summary>
internal static class LocalSecretChannel
{
    /// <summary>The most the runner reads (the whole environment of a process is smaller).</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>The pipe's text for <paramref name="secrets"/>; empty when there are none.</summary>
    public static string Serialize(IReadOnlyList<KeyValuePair<string, string>> secrets) =>
        secrets.Count == 0
            ? ""
            : JsonSerializer.Serialize(secrets.Select(kv => new LocalEnvironmentVariable(kv.Key, kv.Value)).ToList(), LocalJson.Context.ListLocalEnvironmentVariable);

    /// <summary>
    /// Reads the secrets named in <paramref name="expectedNames"/> from <paramref name="input"/>.
    /// Throws <see cref="InvalidDataException"/> when the pipe does not hold exactly those names.
    /// </summary>
    public static IReadOnlyList<LocalEnvironmentVariable> Read(Stream input, IReadOnlyList<string> expectedNames)
    {
        if (expectedNames.Count == 0) return [];
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int n;
        while ((n = input.Read(chunk)) > 0)
        {
            if (buffer.Length + n > MaxBytes) throw new InvalidDataException($"the secrets on stdin are larger than {MaxBytes} bytes");
            buffer.Write(chunk, 0, n);
        }

        List<LocalEnvironmentVariable>? list;
        try
        {
            list = buffer.Length == 0 ? null : JsonSerializer.Deserialize(buffer.ToArray(), LocalJson.Context.ListLocalEnvironmentVariable);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the secrets on stdin are not readable: {e.Message}", e);
        }

        var got = (list ?? []).Select(v => v.Name).ToList();
        if (!got.SequenceEqual(expectedNames, StringComparer.Ordinal))
        {
            throw new InvalidDataException($"expected the secrets {string.Join(", ", expectedNames)} on stdin, got {(got.Count == 0 ? "none" : string.Join(", ", got))}");
        }

        return list!;
    }
}
