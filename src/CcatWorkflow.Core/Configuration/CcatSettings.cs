using System.Globalization;
using System.Text;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Configuration;

/// <summary>
/// The effective settings of one cmdlet call: every known setting with its value and origin.
/// Immutable; loaded by <see cref="SettingsLoader"/>.
/// </summary>
public sealed class CcatSettings
{
    private readonly Dictionary<string, SettingValue> _values;

    internal CcatSettings(string environment, string? settingsFile, string? secretsFile,
        IEnumerable<SettingValue> values, IReadOnlyList<string> unknownKeys)
    {
        Environment = environment;
        SettingsFile = settingsFile;
        SecretsFile = secretsFile;
        _values = values.ToDictionary(v => v.Definition.Name, StringComparer.OrdinalIgnoreCase);
        UnknownKeys = unknownKeys;
    }

    /// <summary>The Dynaconf environment in force (ENV_FOR_DYNACONF, lower case).</summary>
    public string Environment { get; }

    /// <summary>The settings file that was read, if any.</summary>
    public string? SettingsFile { get; }

    /// <summary>The secrets file that was read, if any.</summary>
    public string? SecretsFile { get; }

    /// <summary>Keys in the files that the module does not know (ignored; the file may be shared with the Python service).</summary>
    public IReadOnlyList<string> UnknownKeys { get; }

    /// <summary>Every setting, in schema order.</summary>
    public IEnumerable<SettingValue> Values => SettingsSchema.All.Select(d => _values[d.Name]);

    /// <summary>One setting's effective value.</summary>
    public SettingValue this[string name] =>
        _values.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"Unknown setting '{name}'.");

    /// <summary>A string setting.</summary>
    public string GetString(string name) => (string)this[name].Value;

    /// <summary>An integer setting.</summary>
    public long GetInteger(string name) => (long)this[name].Value;

    /// <summary>A number setting.</summary>
    public double GetFloat(string name) => (double)this[name].Value;

    /// <summary>A boolean setting.</summary>
    public bool GetBoolean(string name) => (bool)this[name].Value;

    /// <summary>A string-list setting.</summary>
    public IReadOnlyList<string> GetStringList(string name) => (string[])this[name].Value;

    /// <summary>A string-map setting.</summary>
    public IReadOnlyDictionary<string, string> GetStringMap(string name) => (IReadOnlyDictionary<string, string>)this[name].Value;

    /// <summary>HPC_BACKEND as the enum.</summary>
    public HPCBackendKind Backend => ParseBackend(GetString("HPC_BACKEND"), this["HPC_BACKEND"], Environment);

    /// <summary>Parses a backend name or alias (from the registered backends); anything else is an error listing them.</summary>
    internal static HPCBackendKind ParseBackend(string text, SettingValue? origin = null, string? environment = null) =>
        BackendRegistry.TryParse(text) ?? throw new CcatException(CcatErrorId.InvalidConfiguration,
            $"HPC_BACKEND is '{text}'{(origin is null ? "" : $" (from {Describe(origin)}{(environment is null ? "" : $", environment '{environment}'")})")}; it must be one of: {BackendRegistry.ValidNames} (any case).");

    /// <summary>Where a value came from, in words, for error messages.</summary>
    internal static string Describe(SettingValue v) => v.Source switch
    {
        SettingSource.Default => "the built-in default",
        SettingSource.EnvironmentVariable => $"environment variable {v.Origin}",
        _ => v.Origin ?? v.Source.ToString(),
    };

    /// <summary>
    /// A stable digest of the settings a backend depends on, so long-lived clients (Redis,
    /// Kubernetes) are reused while the settings stay the same and rebuilt when they change.
    /// </summary>
    public string Fingerprint(IEnumerable<string> names)
    {
        var sb = new StringBuilder();
        foreach (var n in names.OrderBy(n => n, StringComparer.Ordinal))
        {
            sb.Append(n).Append('=').Append(Format(this[n].Value, mask: false)).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>A value as text; secrets masked when <paramref name="mask"/> is set.</summary>
    public static string Format(object value, bool mask) => value switch
    {
        _ when mask => value is string { Length: 0 } ? "" : "********",
        string s => s,
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        string[] a => "[" + string.Join(", ", a.Select(x => $"\"{x}\"")) + "]",
        IReadOnlyDictionary<string, string> m => "{" + string.Join(", ", m.Select(kv => $"{kv.Key} = \"{kv.Value}\"")) + "}",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
