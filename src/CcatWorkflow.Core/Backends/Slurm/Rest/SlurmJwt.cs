using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>
/// What the module reads of a Slurm JWT without checking its signature (only slurmctld and
/// slurmdbd hold the key): when it expires (<c>exp</c>) and for whom it was made (<c>sun</c>).
/// slurmrestd 22.05 does not say "expired" — an expired token reads as an HTTP 500 with a
/// misleading message — so the expiry is checked here, before a token is sent.
/// </summary>
public sealed record SlurmJwt
{
    /// <summary>When the token stops working (the <c>exp</c> claim); null when it has none.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When it was made (<c>iat</c>).</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary>The Slurm user it was made for (<c>sun</c>).</summary>
    public string? User { get; init; }

    /// <summary>Reads the claims; null when the text is not a JWT (three base64url parts, a JSON payload).</summary>
    public static SlurmJwt? TryRead(string? token)
    {
        var parts = (token ?? "").Trim().Split('.');
        if (parts.Length != 3 || parts[1].Length == 0) return null;
        var payload = DecodeBase64Url(parts[1]);
        if (payload is null) return null;
        try
        {
            using var doc = JsonDocument.Parse(payload);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return null;
            var root = doc.RootElement;
            return new SlurmJwt
            {
                ExpiresAt = Epoch(root, "exp"),
                IssuedAt = Epoch(root, "iat"),
                User = root.TryGetProperty("sun", out var sun) && sun.ValueKind == JsonValueKind.String ? sun.GetString() : null,
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// True when the token can still be sent at <paramref name="now"/>: it expires later than
    /// <paramref name="margin"/> from now (a request must not outlive its token).
    /// </summary>
    public bool IsUsableAt(DateTimeOffset now, TimeSpan margin) => ExpiresAt is not { } exp || exp - margin > now;

    /// <summary>How long before expiry a token is refreshed: a tenth of its life, at least 30 s and at most 5 minutes.</summary>
    public TimeSpan RefreshMargin =>
        ExpiresAt is { } exp && IssuedAt is { } iat && exp > iat
            ? TimeSpan.FromTicks(Math.Clamp((exp - iat).Ticks / 10, TimeSpan.FromSeconds(30).Ticks, TimeSpan.FromMinutes(5).Ticks))
            : TimeSpan.FromSeconds(30);

    private static DateTimeOffset? Epoch(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var s)
            && s is > 0 and < 253402300800 ? DateTimeOffset.FromUnixTimeSeconds(s) : null;

    private static byte[]? DecodeBase64Url(string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text.Replace('-', '+').Replace('_', '/'));
        var padded = new byte[(bytes.Length + 3) / 4 * 4];
        bytes.CopyTo(padded, 0);
        for (var i = bytes.Length; i < padded.Length; i++) padded[i] = (byte)'=';
        var output = new byte[Base64.GetMaxDecodedFromUtf8Length(padded.Length)];
        return Base64.DecodeFromUtf8(padded, output, out _, out var written) == System.Buffers.OperationStatus.Done
            ? output[..written]
            : null;
    }
}
