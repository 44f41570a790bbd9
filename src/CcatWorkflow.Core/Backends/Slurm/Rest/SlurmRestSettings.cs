using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>Where slurmrestd listens and as whom the module talks to it (SLURM_REST_*), validated when the backend is built.</summary>
public sealed record SlurmRestSettings
{
    /// <summary>The base address: http(s)://host:port[/prefix], or http://localhost for a unix socket.</summary>
    public required Uri BaseAddress { get; init; }

    /// <summary>The unix socket path, when SLURM_REST_URL is unix://path.</summary>
    public string? SocketPath { get; init; }

    /// <summary>X-SLURM-USER-NAME; empty = the token's own user (its <c>sun</c> claim).</summary>
    public string User { get; init; } = "";

    /// <summary>The JWT (a secret: never shown, never written); empty = obtained with <c>scontrol token</c> over SSH.</summary>
    public string Token { get; init; } = "";

    /// <summary>How long one request may take.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Reads the settings; a malformed URL is <see cref="CcatErrorId.InvalidConfiguration"/> naming the setting.</summary>
    public static SlurmRestSettings FromSettings(CcatSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var (address, socket) = ParseUrl(settings.GetString("SLURM_REST_URL"));
        return new SlurmRestSettings
        {
            BaseAddress = address,
            SocketPath = socket,
            User = settings.GetString("SLURM_REST_USER").Trim(),
            Token = settings.GetString("SLURM_REST_TOKEN").Trim(),
        };
    }

    /// <summary>
    /// SLURM_REST_URL as a base address: <c>http://</c> or <c>https://</c> as given (a path prefix
    /// kept, for a slurmrestd behind a proxy), or <c>unix:///run/slurmrestd.socket</c> for a socket.
    /// </summary>
    public static (Uri BaseAddress, string? SocketPath) ParseUrl(string? text)
    {
        var url = (text ?? "").Trim();
        if (url.Length == 0) throw Invalid("SLURM_REST_URL is empty; SLURM_TRANSPORT=rest needs slurmrestd's address (http(s)://host:port or unix:///path/to/socket)");
        if (url.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            var path = url["unix:".Length..];
            if (path.StartsWith("//", StringComparison.Ordinal)) path = path[2..];
            if (!path.StartsWith('/')) throw Invalid($"SLURM_REST_URL is '{url}'; a socket must be an absolute path (unix:///path/to/socket)");
            return (new Uri("http://localhost/"), path);
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw Invalid($"SLURM_REST_URL is '{url}'; it must be http(s)://host:port (no query, no credentials) or unix:///path/to/socket");
        }

        return (new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/"), null);
    }

    /// <summary>The address for messages (no secret in it).</summary>
    public string Describe() => SocketPath is { } s ? "unix://" + s : BaseAddress.ToString().TrimEnd('/');

    /// <summary>No secret in the text form (records print every property).</summary>
    public override string ToString() => Describe();

    private static CcatException Invalid(string what) => new(CcatErrorId.InvalidConfiguration, $"Setting {what}.");
}
