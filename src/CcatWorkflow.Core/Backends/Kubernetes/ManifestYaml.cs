using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// The YAML that -WhatIf shows for Kubernetes objects: the object's API JSON (the exact field
/// names and values the API server gets) written as block YAML by rules that round-trip under
/// every YAML reader kubectl and people use (YAML 1.1 and 1.2): a string is written plain only
/// when it cannot be read as anything else (it starts with a letter or /, holds only letters, digits
/// and <c>_ . / -</c>, and is not a YAML 1.1 boolean or null word such as <c>yes</c>, <c>on</c>,
/// <c>null</c>); every other string — numbers, dates, <c>0x1F</c>, <c>.inf</c>, <c>~</c>,
/// empty, anything with spaces, quotes, control characters or line breaks — is double-quoted
/// with escapes. Numbers, booleans and null from the JSON stay plain.
/// </summary>
public static partial class ManifestYaml
{
    // YAML 1.1 words that a reader may take for booleans or null (case variants included by the regex).
    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "y", "yes", "n", "no", "true", "false", "on", "off", "null",
    };

    [GeneratedRegex(@"^[A-Za-z/][A-Za-z0-9_./-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SafePlain();

    /// <summary>The object as block YAML.</summary>
    public static string Serialize(object kubernetesObject)
    {
        ArgumentNullException.ThrowIfNull(kubernetesObject);
        var sb = new StringBuilder();
        if (JsonNode.Parse(KubernetesJson.Serialize(kubernetesObject)) is JsonObject { Count: > 0 } root)
        {
            WriteMapping(sb, root, 0, firstOnCurrentLine: false);
        }
        else
        {
            sb.Append("{}\n");
        }

        return sb.ToString();
    }

    /// <summary>One scalar string as YAML: plain when that reads back as the same string, else double-quoted.</summary>
    public static string Scalar(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (SafePlain().IsMatch(value) && !Reserved.Contains(value)) return value;
        var sb = new StringBuilder(value.Length + 2).Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\0': sb.Append("\\0"); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                    {
                        sb.Append(c).Append(value[++i]);
                    }
                    else if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c is '\u2028' or '\u2029' or '\uFEFF' || char.IsSurrogate(c))
                    {
                        // Not printable in YAML (or a line break to some readers): escaped.
                        sb.Append(c <= 0xFF ? "\\x" + ((int)c).ToString("X2", CultureInfo.InvariantCulture) : "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }

    private static void WriteMapping(StringBuilder sb, JsonObject obj, int indent, bool firstOnCurrentLine)
    {
        var first = true;
        foreach (var (key, value) in obj)
        {
            // The first key of a mapping in a sequence follows its "- " on the same line.
            if (!(first && firstOnCurrentLine)) sb.Append(' ', indent);
            first = false;
            sb.Append(Scalar(key)).Append(':');
            switch (value)
            {
                case JsonObject { Count: > 0 } child:
                    sb.Append('\n');
                    WriteMapping(sb, child, indent + 2, firstOnCurrentLine: false);
                    break;
                case JsonArray { Count: > 0 } items:
                    // A sequence at its key's own indentation, as kubectl writes it.
                    sb.Append('\n');
                    WriteSequence(sb, items, indent);
                    break;
                default:
                    sb.Append(' ').Append(Inline(value)).Append('\n');
                    break;
            }
        }
    }

    private static void WriteSequence(StringBuilder sb, JsonArray items, int indent)
    {
        foreach (var item in items)
        {
            sb.Append(' ', indent).Append('-');
            switch (item)
            {
                case JsonObject { Count: > 0 } o:
                    sb.Append(' ');
                    WriteMapping(sb, o, indent + 2, firstOnCurrentLine: true);
                    break;
                case JsonArray { Count: > 0 } a:
                    sb.Append('\n');
                    WriteSequence(sb, a, indent + 2);
                    break;
                default:
                    sb.Append(' ').Append(Inline(item)).Append('\n');
                    break;
            }
        }
    }

    private static string Inline(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "{}",
        JsonArray => "[]",
        JsonValue v when v.TryGetValue<string>(out var s) => Scalar(s),
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
        _ => node.ToJsonString(), // a number, exactly as the API gets it
    };
}
