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
        return new SshSettings
        {
            Host = host,
            Port = (int)settings.GetInteger("SLURM_SSH_PORT"),
            User = user,
            KeyFile = key,
            Passphrase = settings.GetString("SLURM_SSH_KEY_PASSPHRASE"),
            KnownHostsFile = knownHosts,
        };
    }

    /// <summary>user@host:port, for messages (no secret in it).</summary>
    public string Describe() => $"{User}@{Host}:{Port}";

    private static string Expand(string path, string home) =>
        path == "~" ? home : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, path[2..]) : path;

    private static CcatException Invalid(string what) => new(CcatErrorId.InvalidConfiguration, $"Setting {what}.");

    /// <summary>No secret in the text form (records print every property).</summary>
    public override string ToString() => Describe();
}
