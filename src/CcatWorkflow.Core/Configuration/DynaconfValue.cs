using System.Globalization;
using System.Text.Json;
using CcatWorkflow.Core.Errors;
using Tomlyn.Model;

namespace CcatWorkflow.Core.Configuration;

/// <summary>
/// Reads a value as Dynaconf 3.1.7 does (<c>dynaconf/utils/parse_conf.py</c>): a string that
/// starts with a cast token is converted (<c>@int 7000</c> → 7000, <c>@bool 0</c> → false,
/// <c>@float</c>, <c>@json {…}</c>, <c>@str</c>, <c>@none</c>/<c>@null</c>/<c>@note</c>/<c>@comment</c> → no
/// value); any other environment variable is read as a TOML literal, else kept as text. The
/// lazy tokens <c>@format</c> and <c>@jinja</c> and the merge tokens are refused with a clear
/// error: the module does not evaluate templates. tests/dynaconf/ holds the real Dynaconf's
/// answers that the tests compare with.
/// <para>
/// Tokens inside lists and tables are cast too (<see cref="ParseNested"/>, Dynaconf's
/// <c>parse_conf_data</c>): a settings file's value gets one such pass
/// (<c>["@int 1"]</c> → [1]; the result of an <c>@json</c> inside it is not cast again); an
/// environment variable gets two, as Dynaconf's env loader parses the text and
/// <c>Settings.set</c> parses the result once more (<c>[\"@int 1\"]</c> → [1], and
/// <c>@json ["@int 1"]</c> → [1]).
/// </para>
/// </summary>
public static class DynaconfValue
{
    // Dynaconf's "@bool": str(value).lower() in true_values.
    private static readonly string[] TrueValues = ["t", "true", "enabled", "1", "on", "yes"];

    private static readonly string[] NoValue = ["@none", "@null", "@note", "@comment"];

    private static readonly string[] Refused = ["@format", "@jinja", "@reset", "@del", "@merge_unique", "@merge", "@empty"];

    private static readonly string[] Tokens = ["@str", "@int", "@float", "@bool", "@json", .. NoValue, .. Refused];

    /// <summary>
    /// The value of <paramref name="raw"/>: cast tokens applied; with <paramref name="tomlfy"/>
    /// (environment variables) other text read as a TOML literal. Null is Dynaconf's None.
    /// </summary>
    public static object? Parse(string raw, bool tomlfy, Func<string> where)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(where);
        if (raw.StartsWith('@') && Tokens.Any(t => raw.StartsWith(t, StringComparison.Ordinal)))
        {
            var space = raw.IndexOf(' ', StringComparison.Ordinal);
            var token = space < 0 ? raw : raw[..space];
            var text = space < 0 ? "" : raw[(space + 1)..];
            CcatException Bad(string why) => new(CcatErrorId.InvalidConfiguration, $"{where()}: '{raw}' {why}.");
            switch (token)
            {
                case "@str":
                    return text;
                case "@int":
                    return long.TryParse(text.Trim().Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                        ? l : throw Bad("is not a whole number (Dynaconf's int() would fail)");
                case "@float":
                    return double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                        ? d : throw Bad("is not a number (Dynaconf's float() would fail)");
                case "@bool":
                    return TrueValues.Contains(text.ToLowerInvariant());
                case "@json":
                    try
                    {
                        using var doc = JsonDocument.Parse(text);
                        return FromJson(doc.RootElement);
                    }
                    catch (JsonException ex)
                    {
                        throw Bad($"is not JSON: {ex.Message}");
                    }

                case var t when NoValue.Contains(t):
                    return null;
                case var t when Refused.Contains(t):
                    throw Bad($"uses {t}, which this module does not evaluate (templates and merge markers are Dynaconf-only); give the value itself");
                default:
                    // "@integer 5": Dynaconf looks "@integer" up among its converters and fails.
                    throw Bad($"starts with the unknown cast token {token}");
            }
        }

        return tomlfy ? SettingsLoader.ParseLiteral(raw) : raw;
    }

    /// <summary>
    /// One pass of Dynaconf's <c>parse_conf_data</c> without TOML: a string as <see cref="Parse"/>
    /// reads it (its result not looked into again), a list or table item by item, anything else
    /// as it is. Lists become object?[] and tables ordered tables.
    /// </summary>
    public static object? ParseNested(object? value, Func<string> where) => value switch
    {
        string s => Parse(s, tomlfy: false, where),
        TomlArray a => a.Select(x => ParseNested(x, where)).ToArray(),
        object?[] a => a.Select(x => ParseNested(x, where)).ToArray(),
        TomlTable t => Table(t.Select(kv => new KeyValuePair<string, object?>(kv.Key, ParseNested(kv.Value, where)))),
        System.Collections.Specialized.OrderedDictionary o => Table(o.Cast<System.Collections.DictionaryEntry>()
            .Select(kv => new KeyValuePair<string, object?>((string)kv.Key, ParseNested(kv.Value, where)))),
        _ => value,
    };

    /// <summary>An environment variable's value as Dynaconf reads it: <see cref="Parse"/> with TOML, then <see cref="ParseNested"/> of the result.</summary>
    public static object? ParseVariable(string raw, Func<string> where) =>
        ParseNested(Parse(raw, tomlfy: true, where), where);

    private static System.Collections.Specialized.OrderedDictionary Table(IEnumerable<KeyValuePair<string, object?>> items)
    {
        var h = new System.Collections.Specialized.OrderedDictionary(StringComparer.Ordinal);
        foreach (var (k, v) in items) h[k] = v;
        return h;
    }

    // JSON arrays become object?[] and objects ordered tables, as ToPlain shows them.
    private static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? (object)l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToArray(),
        JsonValueKind.Object => ToHashtable(e.EnumerateObject().Select(p => new KeyValuePair<string, object?>(p.Name, FromJson(p.Value)))),
        _ => null,
    };

    /// <summary>A loaded value as scripts see it: long, double, bool, string, object[] or an ordered Hashtable (tables), null for none.</summary>
    public static object? ToPlain(object? value) => value switch
    {
        null => null,
        string or bool or long or double => value,
        int i => (long)i,
        float f => (double)f,
        string[] a => a.Cast<object?>().ToArray(),
        object?[] a => a.Select(ToPlain).ToArray(),
        System.Collections.Specialized.OrderedDictionary o => o,
        TomlArray a => a.Select(ToPlain).ToArray(),
        TomlTable t => ToHashtable(t.Select(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value))),
        IReadOnlyDictionary<string, string> m => ToHashtable(m.Select(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value))),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    };

    private static System.Collections.Specialized.OrderedDictionary ToHashtable(IEnumerable<KeyValuePair<string, object?>> items)
    {
        var h = new System.Collections.Specialized.OrderedDictionary(StringComparer.Ordinal);
        foreach (var (k, v) in items) h[k] = ToPlain(v);
        return h;
    }
}
