using System.Text.Json.Nodes;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>
/// The PATCH content types the double applies: JSON merge patch (RFC 7386), JSON patch
/// (RFC 6902: add, remove, replace, test), and strategic merge patch approximated as a merge
/// patch (lists are replaced, not merged by key — enough for metadata and data maps).
/// </summary>
public static class JsonPatching
{
    /// <summary>Applies <paramref name="patchText"/> of <paramref name="contentType"/> to <paramref name="target"/>.</summary>
    public static JsonNode Apply(JsonNode target, string patchText, string? contentType)
    {
        var type = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        JsonNode? patch;
        try
        {
            patch = JsonNode.Parse(patchText);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw ApiError.BadRequest($"error decoding patch: {e.Message}");
        }

        switch (type)
        {
            case "application/merge-patch+json":
            case "application/strategic-merge-patch+json":
                if (patch is not JsonObject po) throw ApiError.BadRequest("patch body must be a JSON object");
                return MergePatch(target, po);
            case "application/json-patch+json":
                if (patch is not JsonArray ops) throw ApiError.BadRequest("json patch must be an array of operations");
                return JsonPatch(target, ops);
            case "application/apply-patch+yaml":
                throw new ApiError(415, "UnsupportedMediaType", "the double does not implement server-side apply (application/apply-patch+yaml)");
            default:
                throw new ApiError(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got \"{contentType}\")");
        }
    }

    /// <summary>RFC 7386: objects merge recursively, null removes, anything else replaces.</summary>
    public static JsonNode MergePatch(JsonNode target, JsonObject patch)
    {
        if (target is not JsonObject t) return patch.DeepClone();
        foreach (var (key, value) in patch.ToList())
        {
            if (value is null)
            {
                t.Remove(key);
            }
            else if (value is JsonObject vo && t[key] is JsonObject existing)
            {
                MergePatch(existing, vo);
            }
            else
            {
                t[key] = value is JsonObject vo2 ? MergePatch(new JsonObject(), vo2) : value.DeepClone();
            }
        }

        return t;
    }

    /// <summary>RFC 6902 with add, remove, replace and test.</summary>
    public static JsonNode JsonPatch(JsonNode target, JsonArray ops)
    {
        foreach (var op in ops)
        {
            if (op is not JsonObject o) throw ApiError.BadRequest("json patch operation must be an object");
            var name = (string?)o["op"];
            var path = (string?)o["path"] ?? throw ApiError.BadRequest("json patch operation has no path");
            var tokens = path.Length == 0 ? [] : path.Split('/').Skip(1).Select(t => t.Replace("~1", "/").Replace("~0", "~")).ToArray();
            if (tokens.Length == 0) throw ApiError.BadRequest("json patch on the document root is not supported");
            var parent = Resolve(target, tokens[..^1], path);
            var last = tokens[^1];
            switch (name)
            {
                case "add":
                case "replace":
                {
                    var value = o["value"]?.DeepClone();
                    if (parent is JsonObject po)
                    {
                        if (name == "replace" && !po.ContainsKey(last)) throw Unprocessable($"replace operation does not apply: doc is missing key: {path}");
                        po[last] = value;
                    }
                    else if (parent is JsonArray pa)
                    {
                        if (last == "-" && name == "add") pa.Add(value);
                        else if (int.TryParse(last, out var i) && i >= 0 && i <= pa.Count)
                        {
                            if (name == "replace") { if (i >= pa.Count) throw Unprocessable($"replace operation does not apply: {path}"); pa[i] = value; }
                            else pa.Insert(i, value);
                        }
                        else throw Unprocessable($"invalid array index in {path}");
                    }
                    else throw Unprocessable($"doc is missing path: {path}");
                    break;
                }

                case "remove":
                    if (parent is JsonObject ro && ro.ContainsKey(last)) ro.Remove(last);
                    else if (parent is JsonArray ra && int.TryParse(last, out var ri) && ri >= 0 && ri < ra.Count) ra.RemoveAt(ri);
                    else throw Unprocessable($"remove operation does not apply: doc is missing path: {path}");
                    break;
                case "test":
                {
                    var actual = parent is JsonObject to ? to[last] : parent is JsonArray ta && int.TryParse(last, out var ti) && ti < ta.Count ? ta[ti] : null;
                    if (!JsonNode.DeepEquals(actual, o["value"])) throw Unprocessable($"testing value {path} failed");
                    break;
                }

                default:
                    throw ApiError.BadRequest($"Unexpected kind: {name}");
            }
        }

        return target;
    }

    private static JsonNode Resolve(JsonNode root, string[] tokens, string path)
    {
        var node = root;
        foreach (var t in tokens)
        {
            node = node switch
            {
                JsonObject o when o[t] is { } child => child,
                JsonArray a when int.TryParse(t, out var i) && i >= 0 && i < a.Count && a[i] is { } item => item,
                _ => throw Unprocessable($"doc is missing path: {path}"),
            };
        }

        return node;
    }

    private static ApiError Unprocessable(string message) => new(422, "Invalid", message);
}
