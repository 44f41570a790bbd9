using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>
/// The JSON of slurmrestd as the module reads and writes it: snake_case names, unknown fields
/// ignored (every Slurm release adds some), nulls left out of requests. Source-generated
/// (<see cref="SlurmRestJsonContext"/>), no reflection.
/// </summary>
internal static class SlurmRestJson
{
    /// <summary>The generated metadata of every request and response type.</summary>
    public static SlurmRestJsonContext Context { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        // Every long? of every type, once: a property without its own attribute is 64-bit all the same.
        Converters = { new FlexibleInt64Converter() },
    });
}

/// <summary>
/// Every integer of slurmrestd as a 64-bit number: Slurm's unsigned 32-bit fields overflow
/// <see cref="int"/> (a priority of 4294901649 crashed a generated client), some fields are null
/// for "unset" or "infinite", numbers come as strings in places, and v0.0.39+ wraps them in
/// <c>{"set":…,"infinite":…,"number":…}</c>. Anything that is not a number reads as null.
/// </summary>
public sealed class FlexibleInt64Converter : JsonConverter<long?>
{
    /// <inheritdoc />
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override long? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out var l)) return l;
                if (reader.TryGetUInt64(out var u)) return u > long.MaxValue ? long.MaxValue : (long)u;
                return reader.TryGetDouble(out var d) && !double.IsNaN(d) ? (long)Math.Clamp(d, long.MinValue, long.MaxValue) : null;
            case JsonTokenType.String:
                return long.TryParse(reader.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s) ? s : null;
            case JsonTokenType.StartObject:
                long? number = null;
                var set = true;
                var infinite = false;
                using (var doc = JsonDocument.ParseValue(ref reader))
                {
                    foreach (var p in doc.RootElement.EnumerateObject())
                    {
                        if (p.NameEquals("number") && p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt64(out var n)) number = n;
                        else if (p.NameEquals("set") && p.Value.ValueKind == JsonValueKind.False) set = false;
                        else if (p.NameEquals("infinite") && p.Value.ValueKind == JsonValueKind.True) infinite = true;
                    }
                }

                return set && !infinite ? number : null;
            default:
                reader.Skip();
                return null;
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, long? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is { } v) writer.WriteNumberValue(v);
        else writer.WriteNullValue();
    }
}

/// <summary>The types exchanged with slurmrestd.</summary>
[JsonSerializable(typeof(SlurmApi.PingResponse))]
[JsonSerializable(typeof(SlurmApi.JobsResponse<SlurmApi.Job>), TypeInfoPropertyName = "JobsResponse")]
[JsonSerializable(typeof(SlurmApi.SubmitRequest))]
[JsonSerializable(typeof(SlurmApi.SubmitResponse))]
[JsonSerializable(typeof(SlurmApi.ErrorsOnly))]
[JsonSerializable(typeof(SlurmApi.JobsResponse<SlurmDbApi.DbJob>), TypeInfoPropertyName = "DbJobsResponse")]
internal sealed partial class SlurmRestJsonContext : JsonSerializerContext;
