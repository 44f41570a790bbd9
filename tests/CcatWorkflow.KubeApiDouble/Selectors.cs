using k8s;
using k8s.Models;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>
/// A label selector as the API server parses it: <c>k=v</c>, <c>k==v</c>, <c>k!=v</c>,
/// <c>k in (a,b)</c>, <c>k notin (a,b)</c>, <c>k</c>, <c>!k</c>, joined by commas (AND).
/// </summary>
public sealed class LabelSelector
{
    private readonly List<Func<IDictionary<string, string>?, bool>> _terms = [];

    /// <summary>Matches everything.</summary>
    public static LabelSelector Everything { get; } = new();

    /// <summary>Parses a selector; throws 400 BadRequest on a syntax error, as the real server does.</summary>
    public static LabelSelector Parse(string? text)
    {
        var sel = new LabelSelector();
        if (string.IsNullOrWhiteSpace(text)) return sel;
        foreach (var raw in SplitTopLevel(text))
        {
            var term = raw.Trim();
            if (term.Length == 0) throw Bad(text, "empty requirement");
            var lower = term;
            int idx;
            if ((idx = IndexOfWord(lower, " notin ")) > 0 || (idx = IndexOfWord(lower, " in ")) > 0)
            {
                var notin = lower.IndexOf(" notin ", StringComparison.Ordinal) == idx;
                var key = term[..idx].Trim();
                var rest = term[(idx + (notin ? 7 : 4))..].Trim();
                if (!rest.StartsWith('(') || !rest.EndsWith(')')) throw Bad(text, $"found '{rest}', expected: '('");
                var values = rest[1..^1].Split(',', StringSplitOptions.TrimEntries).Where(v => v.Length > 0).ToHashSet(StringComparer.Ordinal);
                CheckKey(text, key);
                sel._terms.Add(notin
                    ? l => l is null || !l.TryGetValue(key, out var v) || !values.Contains(v)
                    : l => l is not null && l.TryGetValue(key, out var v) && values.Contains(v));
            }
            else if ((idx = term.IndexOf("!=", StringComparison.Ordinal)) > 0)
            {
                var key = term[..idx].Trim();
                var value = term[(idx + 2)..].Trim();
                CheckKey(text, key);
                sel._terms.Add(l => l is null || !l.TryGetValue(key, out var v) || v != value);
            }
            else if ((idx = term.IndexOf('=')) > 0)
            {
                var key = term[..idx].Trim();
                var value = term[(idx + 1)..].TrimStart('=').Trim();
                CheckKey(text, key);
                sel._terms.Add(l => l is not null && l.TryGetValue(key, out var v) && v == value);
            }
            else if (term.StartsWith('!'))
            {
                var key = term[1..].Trim();
                CheckKey(text, key);
                sel._terms.Add(l => l is null || !l.ContainsKey(key));
            }
            else
            {
                CheckKey(text, term);
                sel._terms.Add(l => l is not null && l.ContainsKey(term));
            }
        }

        return sel;
    }

    /// <summary>True when <paramref name="labels"/> satisfy every requirement.</summary>
    public bool Matches(IDictionary<string, string>? labels) => _terms.All(t => t(labels));

    private static int IndexOfWord(string s, string word) => s.IndexOf(word, StringComparison.Ordinal);

    private static void CheckKey(string text, string key)
    {
        if (key.Length == 0 || key.Any(c => char.IsWhiteSpace(c) || c is '(' or ')' or ',' or '!' or '='))
        {
            throw Bad(text, $"invalid label key \"{key}\"");
        }
    }

    private static ApiError Bad(string text, string what) =>
        ApiError.BadRequest($"unable to parse requirement: {what} (selector \"{text}\")");

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '(') depth++;
            else if (text[i] == ')') depth--;
            else if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }

        yield return text[start..];
    }
}

/// <summary>A field selector: <c>metadata.name=x</c>, <c>status.phase!=Running</c>, … (AND).</summary>
public sealed class FieldSelector
{
    private readonly List<(string Field, string Value, bool Negate)> _terms = [];

    /// <summary>Parses a selector; unsupported fields are 400, as on a real server.</summary>
    public static FieldSelector Parse(string? text, ResourceKind kind)
    {
        var sel = new FieldSelector();
        if (string.IsNullOrWhiteSpace(text)) return sel;
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var term = raw.Trim();
            var neg = term.Contains("!=", StringComparison.Ordinal);
            var parts = neg ? term.Split("!=", 2) : term.Split('=', 2);
            if (parts.Length != 2) throw ApiError.BadRequest($"invalid field selector: '{term}'");
            var field = parts[0].Trim();
            var value = parts[1].TrimStart('=').Trim();
            var supported = field is "metadata.name" or "metadata.namespace"
                            || (kind == ResourceKind.Pods && field is "status.phase" or "spec.nodeName" or "spec.restartPolicy" or "status.podIP")
                            || (kind == ResourceKind.Jobs && field is "status.successful");
            if (!supported)
            {
                throw ApiError.BadRequest($"field label not supported: {field}");
            }

            sel._terms.Add((field, value, neg));
        }

        return sel;
    }

    /// <summary>True when the object's fields match.</summary>
    public bool Matches(object obj)
    {
        foreach (var (field, value, negate) in _terms)
        {
            var actual = field switch
            {
                "metadata.name" => (obj as IKubernetesObject<V1ObjectMeta>)?.Metadata.Name,
                "metadata.namespace" => (obj as IKubernetesObject<V1ObjectMeta>)?.Metadata.NamespaceProperty,
                "status.phase" => (obj as V1Pod)?.Status?.Phase,
                "spec.nodeName" => (obj as V1Pod)?.Spec?.NodeName,
                "spec.restartPolicy" => (obj as V1Pod)?.Spec?.RestartPolicy,
                "status.podIP" => (obj as V1Pod)?.Status?.PodIP,
                "status.successful" => ((obj as V1Job)?.Status?.Succeeded ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => null,
            } ?? "";
            if ((actual == value) == negate) return false;
        }

        return true;
    }
}
