using System.Text.Json;
using System.Text.Json.Nodes;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>One field error of a 422 (Status.details.causes[]).</summary>
/// <param name="Reason">FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate, FieldValueNotFound, FieldValueTooLong.</param>
/// <param name="Field">The field path, e.g. spec.template.spec.restartPolicy.</param>
/// <param name="Message">The detail, e.g. Required value.</param>
public sealed record Cause(string Reason, string Field, string Message)
{
    /// <summary>As the API server prints it in the Status message: "field: detail".</summary>
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>
/// An API error: the handler throws it, the middleware writes it as a real <c>Status</c> body
/// (kind Status, status Failure, message, reason, details, code).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1710:Identifiers should have correct suffix",
    Justification = "Named for the API's Status error it writes; test double only.")]
public sealed class ApiError : Exception
{
    /// <summary>Creates an error.</summary>
    public ApiError(int code, string reason, string message, string? name = null, string? group = null, string? kind = null, IReadOnlyList<Cause>? causes = null)
        : base(message)
    {
        Code = code;
        Reason = reason;
        Name = name;
        Group = group;
        Kind = kind;
        Causes = causes;
    }

    /// <summary>HTTP status code.</summary>
    public int Code { get; }

    /// <summary>Status.reason.</summary>
    public string Reason { get; }

    /// <summary>details.name.</summary>
    public string? Name { get; }

    /// <summary>details.group.</summary>
    public string? Group { get; }

    /// <summary>details.kind.</summary>
    public string? Kind { get; }

    /// <summary>details.causes.</summary>
    public IReadOnlyList<Cause>? Causes { get; }

    /// <summary>The Status body.</summary>
    public string ToJson() => StatusJson.Failure(Code, Reason, Message, Name, Group, Kind, Causes);

    /// <summary>404 for a named object: <c>jobs.batch "x" not found</c>.</summary>
    public static ApiError NotFound(ResourceKind kind, string name) =>
        new(404, "NotFound", $"{kind.QualifiedPlural} \"{name}\" not found", name, kind.Group.Length == 0 ? null : kind.Group, kind.Plural);

    /// <summary>404 for a missing namespace.</summary>
    public static ApiError NamespaceNotFound(string ns) =>
        new(404, "NotFound", $"namespaces \"{ns}\" not found", ns, null, "namespaces");

    /// <summary>409 AlreadyExists.</summary>
    public static ApiError AlreadyExists(ResourceKind kind, string name) =>
        new(409, "AlreadyExists", $"{kind.QualifiedPlural} \"{name}\" already exists", name, kind.Group.Length == 0 ? null : kind.Group, kind.Plural);

    /// <summary>422 Invalid with field causes: <c>Job.batch "x" is invalid: [a: b, c: d]</c>.</summary>
    public static ApiError Invalid(ResourceKind kind, string name, IReadOnlyList<Cause> causes)
    {
        var list = causes.Count == 1 ? causes[0].ToString() : "[" + string.Join(", ", causes) + "]";
        return new ApiError(422, "Invalid", $"{kind.Kind}{(kind.Group.Length == 0 ? "" : "." + kind.Group)} \"{name}\" is invalid: {list}",
            name, kind.Group.Length == 0 ? null : kind.Group, kind.Kind, causes);
    }

    /// <summary>400 BadRequest.</summary>
    public static ApiError BadRequest(string message) => new(400, "BadRequest", message);
}

/// <summary>
/// Writes Status bodies by hand: KubernetesClient's V1Status converter can only read
/// (serialising a V1Status throws NotImplementedException).
/// </summary>
public static class StatusJson
{
    // Quotes as \" like the real server, not \u0022.
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A Failure Status.</summary>
    public static string Failure(int code, string reason, string message, string? name = null, string? group = null, string? kind = null, IReadOnlyList<Cause>? causes = null)
    {
        var o = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
        };
        if (name is not null || kind is not null || causes is not null)
        {
            var d = new JsonObject();
            if (name is not null) d["name"] = name;
            if (group is not null) d["group"] = group;
            if (kind is not null) d["kind"] = kind;
            if (causes is not null)
            {
                d["causes"] = new JsonArray(causes.Select(c => (JsonNode)new JsonObject { ["reason"] = c.Reason, ["message"] = c.Message, ["field"] = c.Field }).ToArray());
            }

            o["details"] = d;
        }

        o["code"] = code;
        return o.ToJsonString(Relaxed);
    }

    /// <summary>A Success Status (what DELETE returns once an object is gone).</summary>
    public static string Success(string name, string? group, string kind, string uid) =>
        new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Success",
            ["details"] = group is null
                ? new JsonObject { ["name"] = name, ["kind"] = kind, ["uid"] = uid }
                : new JsonObject { ["name"] = name, ["group"] = group, ["kind"] = kind, ["uid"] = uid },
        }.ToJsonString(Relaxed);
}
