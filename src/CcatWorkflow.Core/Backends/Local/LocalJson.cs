using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// The one JSON dialect of the job files: snake_case, nulls left out, readable. Source-generated
/// (<see cref="LocalJsonContext"/>): the runner is a Native AOT executable, where reflection-based
/// serialization does not work, and the generated code is also what the module uses.
/// </summary>
internal static class LocalJson
{
    /// <summary>The generated metadata of every job file type, bound to the dialect's options.</summary>
    public static LocalJsonContext Context { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // files for people and scripts, not HTML
    });

    /// <summary>The dialect's options (resolving types through <see cref="Context"/> only).</summary>
    public static JsonSerializerOptions Options => Context.Options;
}

/// <summary>The types written to and read from job folders, the file store and the runner's environment.</summary>
[JsonSerializable(typeof(LocalJobSpec))]
[JsonSerializable(typeof(LocalJobResult))]
[JsonSerializable(typeof(LocalRunnerState))]
[JsonSerializable(typeof(LocalCancelRequest))]
[JsonSerializable(typeof(LocalStoreOptions))]
[JsonSerializable(typeof(List<LocalEnvironmentVariable>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class LocalJsonContext : JsonSerializerContext;
