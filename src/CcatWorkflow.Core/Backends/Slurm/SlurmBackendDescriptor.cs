using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>The Slurm backend's registration: its settings (with their one rule each) and its factory.</summary>
public sealed class SlurmBackendDescriptor : BackendDescriptor
{
    private static bool UsesSsh(CcatSettings s) => s.GetString("SLURM_TRANSPORT").Trim().Equals("ssh", StringComparison.OrdinalIgnoreCase);

    private static bool UsesRest(CcatSettings s) => s.GetString("SLURM_TRANSPORT").Trim().Equals("rest", StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Slurm;

    /// <inheritdoc />
    public override IReadOnlyList<SettingDefinition> Settings { get; } =
    [
        // #SBATCH lines are split by sbatch itself: no quoting carries a space or a newline there.
        new("SLURM_PARTITION", SettingType.String, "", "Slurm partition (--partition); empty = the cluster's default.") { Check = (v, _) => SlurmOptions.NameProblem((string)v) },
        new("SLURM_ACCOUNT", SettingType.String, "", "Slurm account (--account); empty = none.") { Check = (v, _) => SlurmOptions.NameProblem((string)v) },
        new("SLURM_QOS", SettingType.String, "", "Slurm QOS (--qos); empty = none.") { Check = (v, _) => SlurmOptions.NameProblem((string)v) },
        new("SLURM_EXTRA_DIRECTIVES", SettingType.StringList, Array.Empty<string>(), "Extra #SBATCH directives, e.g. [\"--constraint=avx2\"].")
        {
            Check = (v, _) => SlurmOptions.DirectivesProblem((IReadOnlyList<string>)v),
        },
        new("SLURM_JOB_DIR", SettingType.String, "", "Directory for sbatch scripts and job logs, on a file system the compute nodes share; empty = <PIPELINE_BASE_DIR>/.ccat-slurm.")
        {
            Check = (_, s) => SlurmOptions.JobDirectoryProblem(s),
        },
        new("SLURM_GPU_DIRECTIVE", SettingType.String, "gpus", "How gpu is requested: gpus (--gpus=N) or gres (--gres=gpu:N).") { OneOf = ["gpus", "gres"] },
        new("SLURM_TRANSPORT", SettingType.String, "cli", "How Slurm is reached: cli (the commands on this machine), ssh (the commands on a login node over SSH) or rest (slurmrestd, with a JWT).") { OneOf = ["cli", "ssh", "rest"] },
        new("SLURM_SSH_HOST", SettingType.String, "", "Login node for SLURM_TRANSPORT=ssh.")
        {
            CheckedWhen = UsesSsh,
            Check = (v, _) => ((string)v).Trim().Length == 0 ? "must name the login node when SLURM_TRANSPORT is ssh" : null,
        },
        new("SLURM_SSH_PORT", SettingType.Integer, 22L, "SSH port of the login node.") { Min = 1, Max = 65535 },
        new("SLURM_SSH_USER", SettingType.String, "", "User on the login node; empty = this machine's user name."),
        new("SLURM_SSH_KEY_FILE", SettingType.String, "", "Private key file (OpenSSH or PEM); empty = ~/.ssh/id_ed25519, id_ecdsa or id_rsa, the first that exists."),
        new("SLURM_SSH_KEY_PASSPHRASE", SettingType.String, "", "Passphrase of the private key; keep it in the secrets file or the environment.", IsSecret: true),
        new("SLURM_SSH_KNOWN_HOSTS", SettingType.String, "", "known_hosts file holding the login node's host key (pinned: an unknown or changed key is refused); empty = ~/.ssh/known_hosts."),
        new("SLURM_SSH_PROXY_JUMP", SettingType.String, "", "Bastion to reach the login node through, as [user@]host[:port] (one hop, like ssh -J; same key and known_hosts, both host keys pinned); empty = connect directly."),
        new("SLURM_REST_URL", SettingType.String, "", "slurmrestd's address for SLURM_TRANSPORT=rest: http(s)://host:port, or unix:///path/to/socket.")
        {
            CheckedWhen = UsesRest,
            Check = (v, _) => CheckRestUrl((string)v),
        },
        new("SLURM_REST_USER", SettingType.String, "", "X-SLURM-USER-NAME of the REST requests (jobs run as this user); empty = the user the token was made for."),
        new("SLURM_REST_TOKEN", SettingType.String, "", "JWT for slurmrestd (`scontrol token lifespan=…`); keep it in the secrets file or the environment. Empty = asked for over SSH (SLURM_SSH_HOST) and renewed before it expires.", IsSecret: true),
        new("SLURM_MIN_POLL_SECONDS", SettingType.Float, 0.0, "Fewest seconds between two Slurm status requests of Wait-CcatJob, whatever -PollInterval says (an administrator's floor).") { Min = 0, Max = 3600 },
    ];

    private static string? CheckRestUrl(string url)
    {
        try
        {
            Rest.SlurmRestSettings.ParseUrl(url);
            return null;
        }
        catch (Errors.CcatException)
        {
            return "must be http(s)://host:port or unix:///path/to/socket when SLURM_TRANSPORT is rest";
        }
    }

    /// <inheritdoc />
    public override IReadOnlyList<string> SharedSettings => ["PIPELINE_BASE_DIR"];

    /// <inheritdoc />
    public override HPCBackend Create(CcatSettings settings) => SlurmBackend.Create(settings);
}
