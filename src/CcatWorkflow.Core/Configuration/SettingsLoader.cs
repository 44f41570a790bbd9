using System.Collections;
using System.Globalization;
using CcatWorkflow.Core.Errors;
using Tomlyn;
using Tomlyn.Model;

namespace CcatWorkflow.Core.Configuration;

/// <summary>
/// Loads settings the way Dynaconf does for the original service, highest precedence first:
/// <list type="number">
/// <item><c>CCAT_WORKFLOW_MANAGER_&lt;SETTING&gt;</c> environment variables, read as TOML literals
/// (<c>6379</c> is an integer, <c>true</c> a boolean, anything that is not a TOML literal a string);</item>
/// <item>the secrets file (<c>SECRETS_FOR_DYNACONF</c>, else <c>.secrets.toml</c> beside the settings file);</item>
/// <item>the <c>[global]</c> section, then the section named by <c>ENV_FOR_DYNACONF</c> (default <c>development</c>);</item>
/// <item>the <c>[default]</c> section (and top-level keys);</item>
/// <item>the module's built-in defaults.</item>
/// </list>
/// The settings file is <c>SETTINGS_FILE_FOR_DYNACONF</c> when set, else the first of
/// <c>./settings.toml</c>, <c>$XDG_CONFIG_HOME/ccat-workflow/settings.toml</c> (default
/// <c>~/.config/ccat-workflow/settings.toml</c>) and <c>/etc/ccat-workflow/settings.toml</c>.
/// </summary>
public static class SettingsLoader
{
    /// <summary>Names the settings file explicitly (Dynaconf's own variable).</summary>
    public const string SettingsFileVariable = "SETTINGS_FILE_FOR_DYNACONF";

    /// <summary>Names the secrets file explicitly.</summary>
    public const string SecretsFileVariable = "SECRETS_FOR_DYNACONF";

    /// <summary>Chooses the environment section.</summary>
    public const string EnvironmentVariable = "ENV_FOR_DYNACONF";

    /// <summary>Dynaconf's environment when none is chosen.</summary>
    public const string DefaultEnvironment = "development";

    /// <summary>Loads settings from the process environment and the file system.</summary>
    public static CcatSettings Load() => Load(ReadProcessEnvironment(), Directory.GetCurrentDirectory());

    /// <summary>
    /// Loads settings from the process environment, searching <c>settings.toml</c> relative to
    /// <paramref name="workingDirectory"/> (PowerShell's location, which is not the process's).
    /// </summary>
    public static CcatSettings Load(string workingDirectory) => Load(ReadProcessEnvironment(), workingDirectory);

    /// <summary>Loads settings from the given environment variables (tests pass their own).</summary>
    public static CcatSettings Load(IReadOnlyDictionary<string, string> env, string workingDirectory)
    {
        var envName = env.GetValueOrDefault(EnvironmentVariable) is { Length: > 0 } e ? e.Trim().ToLowerInvariant() : DefaultEnvironment;
        var explicitEnv = env.ContainsKey(EnvironmentVariable) && env[EnvironmentVariable].Length > 0;
        var settingsFile = FindSettingsFile(env, workingDirectory);
        var secretsFile = FindSecretsFile(env, settingsFile);

        var values = SettingsSchema.All.ToDictionary(d => d.Name,
            d => new SettingValue(d, d.Default, SettingSource.Default, null), StringComparer.OrdinalIgnoreCase);
        var unknown = new List<string>();
        var unknownValues = new Dictionary<string, UnknownSetting>(StringComparer.OrdinalIgnoreCase);

        if (settingsFile is not null)
        {
            ApplyFile(settingsFile, envName, explicitEnv, values, unknown, unknownValues, isSecrets: false);
        }

        if (secretsFile is not null)
        {
            ApplyFile(secretsFile, envName, explicitEnv: false, values, unknown, unknownValues, isSecrets: true);
        }

        foreach (var (name, raw) in env)
        {
            if (!name.StartsWith(SettingsSchema.EnvPrefix, StringComparison.Ordinal)) continue;
            var key = name[SettingsSchema.EnvPrefix.Length..];
            var def = SettingsSchema.Find(key);
            if (def is null)
            {
                // Other settings of the Python service share the prefix: shown, never refused.
                unknown.Add($"environment variable {name}");
                unknownValues[key] = new UnknownSetting(key.ToUpperInvariant(), ParseUnknown(raw, variable: true), SettingSource.EnvironmentVariable, name);
                continue;
            }

            var read = DynaconfValue.ParseVariable(raw, () => $"Environment variable {name}");
            var value = Coerce(def, read, () => $"environment variable {name} (environment '{envName}')");
            values[def.Name] = new SettingValue(def, value, SettingSource.EnvironmentVariable, name) { AsRead = read };
        }

        var settings = new CcatSettings(envName, settingsFile, secretsFile, values.Values, unknown)
        {
            Unknown = [.. unknownValues.Values.OrderBy(u => u.Name, StringComparer.Ordinal)],
        };
        Validate(settings);
        return settings;
    }

    private static Dictionary<string, string> ReadProcessEnvironment()
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry kv in System.Environment.GetEnvironmentVariables())
        {
            d[(string)kv.Key] = kv.Value as string ?? "";
        }

        return d;
    }

    /// <summary>The settings file that would be read, or null.</summary>
    public static string? FindSettingsFile(IReadOnlyDictionary<string, string> env, string workingDirectory)
    {
        if (env.GetValueOrDefault(SettingsFileVariable) is { Length: > 0 } given)
        {
            var path = Path.GetFullPath(given, workingDirectory);
            if (!File.Exists(path))
            {
                throw new CcatException(CcatErrorId.InvalidConfiguration, $"{SettingsFileVariable} names '{path}', which does not exist.");
            }

            return path;
        }

        foreach (var candidate in SearchPath(env, workingDirectory))
        {
            if (File.Exists(candidate)) return candidate;
        }

        return null;
    }

    /// <summary>The places searched for settings.toml, in order.</summary>
    public static IEnumerable<string> SearchPath(IReadOnlyDictionary<string, string> env, string workingDirectory)
    {
        yield return Path.Combine(workingDirectory, "settings.toml");
        var configHome = env.GetValueOrDefault("XDG_CONFIG_HOME") is { Length: > 0 } x ? x
            : Path.Combine(env.GetValueOrDefault("HOME") ?? System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".config");
        yield return Path.Combine(configHome, "ccat-workflow", "settings.toml");
        yield return "/etc/ccat-workflow/settings.toml";
    }

    private static string? FindSecretsFile(IReadOnlyDictionary<string, string> env, string? settingsFile)
    {
        if (env.GetValueOrDefault(SecretsFileVariable) is { Length: > 0 } given)
        {
            var path = Path.GetFullPath(given);
            if (!File.Exists(path))
            {
                throw new CcatException(CcatErrorId.InvalidConfiguration, $"{SecretsFileVariable} names '{path}', which does not exist.");
            }

            return path;
        }

        if (settingsFile is null) return null;
        var beside = Path.Combine(Path.GetDirectoryName(settingsFile)!, ".secrets.toml");
        return File.Exists(beside) ? beside : null;
    }

    private static void ApplyFile(string path, string envName, bool explicitEnv,
        Dictionary<string, SettingValue> values, List<string> unknown, Dictionary<string, UnknownSetting> unknownValues, bool isSecrets)
    {
        var what = isSecrets ? "Secrets file" : "Settings file";
        var text = SettingsFileReader.ReadText(path, what);
        TomlTable doc;
        try
        {
            // TOML forbids a key or table defined twice; the model reader alone keeps the last
            // one, so the syntax tree is validated first (it names the line).
            Tomlyn.Parsing.SyntaxParser.ParseStrict(text, path, validate: true);
            doc = TomlSerializer.Deserialize(text, new SettingsToml(StrictToml(path)).TomlTable)!;
        }
        catch (TomlException ex)
        {
            throw new CcatException(CcatErrorId.InvalidConfiguration,
                $"{what} '{path}' is not valid TOML{(ex.Line > 0 ? $" (line {ex.Line})" : "")}: {ex.Message}", innerException: ex);
        }

        var sections = doc.Where(kv => kv.Value is TomlTable).ToDictionary(kv => kv.Key.ToLowerInvariant(), kv => (TomlTable)kv.Value!);
        var topLevel = doc.Where(kv => kv.Value is not TomlTable).ToList();
        var fileSource = isSecrets ? SettingSource.SecretsFile : SettingSource.FileDefault;
        var envSource = isSecrets ? SettingSource.SecretsFile : SettingSource.FileEnvironment;

        void Apply(IEnumerable<KeyValuePair<string, object>> entries, string section, SettingSource source)
        {
            foreach (var (key, raw) in entries)
            {
                var def = SettingsSchema.Find(key);
                if (def is null)
                {
                    // Dynaconf-style nested tables (e.g. a [default.database] sub-table) belong to
                    // other components sharing the file; note them, never fail on them.
                    unknown.Add($"{path}: [{section}] {key}");
                    unknownValues[key] = new UnknownSetting(key.ToUpperInvariant(), ParseUnknown(raw, variable: false), source, $"{path} [{section}]");
                    continue;
                }

                // Dynaconf applies its cast tokens to strings in files too ("@int 5"), also inside lists and tables.
                var parsed = DynaconfValue.ParseNested(raw, () => $"'{path}', section [{section}], key {key}");
                var value = Coerce(def, parsed, () => $"'{path}', section [{section}] (environment '{envName}')");
                values[def.Name] = new SettingValue(def, value, source, $"{path} [{section}]") { AsRead = parsed };
            }
        }

        Apply(topLevel, "top level", fileSource);
        if (sections.TryGetValue("default", out var dflt)) Apply(dflt, "default", fileSource);
        if (sections.TryGetValue(envName, out var envTable))
        {
            Apply(envTable, envName, envSource);
        }
        else if (explicitEnv && !isSecrets && envName != "default")
        {
            var known = string.Join(", ", sections.Keys.Where(k => k is not ("default" or "global")));
            throw new CcatException(CcatErrorId.InvalidConfiguration,
                $"ENV_FOR_DYNACONF is '{envName}', but settings file '{path}' has no [{envName}] section (it has: {(known.Length == 0 ? "none" : known)}).");
        }

        if (sections.TryGetValue("global", out var global)) Apply(global, "global", envSource);
    }

    // An unknown key's value is shown as Dynaconf would read it; a token it cannot evaluate
    // here (@format, @jinja) is shown as the text given, since nothing of the module uses it.
    private static object? ParseUnknown(object raw, bool variable)
    {
        try
        {
            return variable ? DynaconfValue.ParseVariable((string)raw, () => "") : DynaconfValue.ParseNested(raw, () => "");
        }
        catch (CcatException)
        {
            return raw;
        }
    }

    private static TomlSerializerOptions StrictToml(string path) =>
        new() { DuplicateKeyHandling = TomlDuplicateKeyHandling.Error, SourceName = path };

    /// <summary>Reads an environment variable's text as a TOML literal, as Dynaconf does; else the text itself.</summary>
    public static object ParseLiteral(string raw)
    {
        var trimmed = raw.Trim();
        if (trimmed.Length == 0) return raw;
        try
        {
            var t = TomlSerializer.Deserialize("v = " + trimmed, SettingsToml.Default.TomlTable);
            if (t is not null && t.TryGetValue("v", out var v) && v is not null) return v;
        }
        catch (TomlException)
        {
            // not a literal: a plain string, like Dynaconf
        }

        return raw;
    }

    private static object Coerce(SettingDefinition def, object? raw, Func<string> where)
    {
        CcatException Bad(string what) => new(CcatErrorId.InvalidConfiguration,
            $"Setting {def.Name} in {where()} {what}.");

        switch (def.Type)
        {
            case SettingType.String:
                return raw switch
                {
                    string s => s,
                    bool flag => flag ? "true" : "false",
                    long or double => Convert.ToString(raw, CultureInfo.InvariantCulture)!,
                    _ => throw Bad($"must be a string, not {Describe(raw)}"),
                };
            case SettingType.Integer:
                return raw switch
                {
                    long l => l,
                    int i => (long)i,
                    double d when d == Math.Floor(d) && !double.IsInfinity(d) => (long)d,
                    _ => throw Bad($"must be a whole number, not {Describe(raw)}"),
                };
            case SettingType.Float:
                return raw switch
                {
                    double d when !double.IsNaN(d) && !double.IsInfinity(d) => d,
                    long l => (double)l,
                    int i => (double)i,
                    _ => throw Bad($"must be a finite number, not {Describe(raw)}"),
                };
            case SettingType.Boolean:
                return raw is bool b ? b : throw Bad($"must be true or false, not {Describe(raw)}");
            case SettingType.StringList:
                if (raw is IEnumerable<object?> arr && arr.All(x => x is string))
                {
                    return arr.Cast<string>().ToArray();
                }

                throw Bad($"must be a list of strings, not {Describe(raw)}");
            case SettingType.StringMap:
                if (raw is TomlTable table && table.All(kv => kv.Value is string))
                {
                    return (IReadOnlyDictionary<string, string>)table.ToDictionary(kv => kv.Key, kv => (string)kv.Value!, StringComparer.Ordinal);
                }

                if (raw is System.Collections.Specialized.OrderedDictionary json && json.Values.Cast<object?>().All(x => x is string))
                {
                    // From @json.
                    return (IReadOnlyDictionary<string, string>)json.Cast<System.Collections.DictionaryEntry>()
                        .ToDictionary(kv => (string)kv.Key, kv => (string)kv.Value!, StringComparer.Ordinal);
                }

                throw Bad($"must be a table of strings, not {Describe(raw)}");
            default:
                throw new InvalidOperationException(def.Type.ToString());
        }
    }

    private static string Describe(object? raw) => raw switch
    {
        null => "nothing",
        string s => $"the string \"{s}\"",
        bool b => $"the boolean {(b ? "true" : "false")}",
        long or int or double => $"the number {Convert.ToString(raw, CultureInfo.InvariantCulture)}",
        TomlArray or object?[] => "a list",
        System.Collections.Specialized.OrderedDictionary => "a table",
        TomlTable => "a table",
        _ => $"a {raw.GetType().Name}",
    };

    // The one place a setting's rule is checked (SettingDefinition.Problem): once, after every
    // layer is applied, so a rule may look at other settings (REDIS_PORT and a unix socket).
    private static void Validate(CcatSettings s)
    {
        foreach (var v in s.Values)
        {
            if (v.Definition.Problem(v.Value, s) is { } problem)
            {
                var text = CcatSettings.Format(v.Value, mask: false);
                var shown = v.Definition.IsSecret ? "set" : v.Value is string ? $"'{text}'" : text;
                throw new CcatException(CcatErrorId.InvalidConfiguration,
                    $"Setting {v.Definition.Name} is {shown} (from {CcatSettings.Describe(v)}, environment '{s.Environment}'); it {problem}.");
            }
        }
    }
}
