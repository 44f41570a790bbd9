using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm.Ssh;

/// <summary>Where and as whom the SSH transport logs in (SLURM_SSH_*), validated when the backend is built.</summary>
public sealed record SshSettings
{
    /// <summary>The login node.</summary>
    public required string Host { get; init; }

    /// <summary>Its SSH port.</summary>
    public int Port { get; init; } = 22;

    /// <summary>The user on the login node.</summary>
    public required string User { get; init; }

    /// <summary>The private key file.</summary>
    public required string KeyFile { get; init; }

    /// <summary>The key's passphrase (a secret: never shown, never written).</summary>
    public string Passphrase { get; init; } = "";

    /// <summary>The known_hosts file that pins the host key.</summary>
    public required string KnownHostsFile { get; init; }

    /// <summary>
    /// The bastion the login node is reached through (SLURM_SSH_PROXY_JUMP, as OpenSSH's
    /// ProxyJump with one hop), with the same key and known_hosts file; null for a direct connection.
    /// </summary>
    public SshSettings? Jump { get; init; }

    /// <summary>How long connecting may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The keys ssh itself tries, in its order, when SLURM_SSH_KEY_FILE is empty.</summary>
    private static readonly string[] DefaultKeyNames = ["id_ed25519", "id_ecdsa", "id_rsa"];

    /// <summary>Reads the settings; a missing host or key file is <see cref="CcatErrorId.InvalidConfiguration"/> naming the setting.</summary>
    public static SshSettings FromSettings(CcatSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var host = settings.GetString("SLURM_SSH_HOST").Trim();
        if (host.Length == 0) throw Invalid("SLURM_SSH_HOST is empty; SLURM_TRANSPORT=ssh needs the login node's name");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var user = settings.GetString("SLURM_SSH_USER").Trim();
        if (user.Length == 0) user = Environment.UserName;
        var key = Expand(settings.GetString("SLURM_SSH_KEY_FILE").Trim(), home);
        if (key.Length == 0)
        {
            key = DefaultKeyNames.Select(n => Path.Combine(home, ".ssh", n)).FirstOrDefault(File.Exists)
                ?? throw Invalid("SLURM_SSH_KEY_FILE is empty and ~/.ssh holds no id_ed25519, id_ecdsa or id_rsa");
        }
        else if (!File.Exists(key))
        {
            throw Invalid($"SLURM_SSH_KEY_FILE is '{key}', which does not exist");
        }

        var knownHosts = Expand(settings.GetString("SLURM_SSH_KNOWN_HOSTS").Trim(), home);
        if (knownHosts.Length == 0) knownHosts = Path.Combine(home, ".ssh", "known_hosts");
        var login = new SshSettings
        {
            Host = host,
            Port = (int)settings.GetInteger("SLURM_SSH_PORT"),
            User = user,
            KeyFile = key,
            Passphrase = settings.GetString("SLURM_SSH_KEY_PASSPHRASE"),
            KnownHostsFile = knownHosts,
        };
        var jump = settings.GetString("SLURM_SSH_PROXY_JUMP").Trim();
        return jump.Length == 0 ? login : login with { Jump = ParseJump(jump, login) };
    }

    /// <summary>
    /// The bastion of SLURM_SSH_PROXY_JUMP: <c>[user@]host[:port]</c> (<c>[::1]:port</c> for an
    /// IPv6 address); the user defaults to the login node's, the port to 22. One hop only.
    /// </summary>
    public static SshSettings ParseJump(string text, SshSettings login)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(login);
        CcatException Bad() => Invalid($"SLURM_SSH_PROXY_JUMP is '{text}'; it must be one bastion as [user@]host[:port]");
        var rest = text.Trim();
        if (rest.Length == 0 || rest.Contains(',', StringComparison.Ordinal) || rest.Any(char.IsWhiteSpace) || rest.Contains("://", StringComparison.Ordinal)) throw Bad();
        var user = login.User;
        var at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            user = rest[..at];
            rest = rest[(at + 1)..];
            if (user.Length == 0) throw Bad();
        }

        string host;
        var port = 22;
        string? portText = null;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) throw Bad();
            host = rest[1..close];
            var after = rest[(close + 1)..];
            if (after.Length > 0)
            {
                if (!after.StartsWith(':')) throw Bad();
                portText = after[1..];
            }
        }
        else
        {
            var colon = rest.IndexOf(':', StringComparison.Ordinal);
            host = colon < 0 ? rest : rest[..colon];
            if (colon >= 0) portText = rest[(colon + 1)..];
        }

        if (host.Length == 0) throw Bad();
        if (portText is not null && (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)) throw Bad();
        return login with { Host = host, Port = port, User = user, Jump = null };
    }

    /// <summary>user@host:port (and the bastion), for messages (no secret in it).</summary>
    public string Describe() => $"{User}@{Host}:{Port}" + (Jump is { } j ? $" through {j.User}@{j.Host}:{j.Port}" : "");

    private static string Expand(string path, string home) =>
        path == "~" ? home : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, path[2..]) : path;

    private static CcatException Invalid(string what) => new(CcatErrorId.InvalidConfiguration, $"Setting {what}.");

    /// <summary>No secret in the text form (records print every property).</summary>
    public override string ToString() => Describe();
}
