using CcatWorkflow.Core.Backends.Slurm.Rest;
using CcatWorkflow.Core.Backends.Slurm.Ssh;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>Builds the transport SLURM_TRANSPORT names from the settings.</summary>
public static class SlurmTransports
{
    /// <summary>SLURM_TRANSPORT as an enum; a bad value is <see cref="CcatErrorId.InvalidConfiguration"/>.</summary>
    public static SlurmTransportKind KindOf(CcatSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.GetString("SLURM_TRANSPORT").Trim().ToLowerInvariant() switch
        {
            "" or "cli" => SlurmTransportKind.Cli,
            "ssh" => SlurmTransportKind.Ssh,
            "rest" => SlurmTransportKind.Rest,
            var other => throw new CcatException(CcatErrorId.InvalidConfiguration, $"Setting SLURM_TRANSPORT is '{other}'; it must be cli, ssh or rest."),
        };
    }

    /// <summary>The SSH transport over <paramref name="connection"/>, with the job folders under <paramref name="jobDirectory"/> on the login node.</summary>
    public static SlurmCommandTransport Ssh(SshConnection connection, string jobDirectory) =>
        new(SlurmTransportKind.Ssh, new SshSlurmShell(connection), new SshSlurmJobFiles(connection, jobDirectory));

    /// <summary>The transport for these settings.</summary>
    public static ISlurmTransport Create(CcatSettings settings, SlurmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return KindOf(settings) switch
        {
            SlurmTransportKind.Cli => new SlurmCommandTransport(SlurmTransportKind.Cli, new SlurmCommands(CliWrapCommandRunner.Instance), new LocalSlurmJobFiles(options.JobDirectory)),
            SlurmTransportKind.Rest => Rest(settings, options.JobDirectory),
            _ => Ssh(new SshConnection(SshSettings.FromSettings(settings)), options.JobDirectory),
        };
    }

    /// <summary>
    /// The REST transport for these settings. Its job folders (REST has no file access) are
    /// reached over SFTP when a login node is configured (SLURM_SSH_HOST, which also gives tokens
    /// by <c>scontrol token</c> when SLURM_REST_TOKEN is empty), else on this machine when
    /// <paramref name="jobDirectory"/> is a folder shared with the cluster (it or its parent exists
    /// here), else nowhere: status and cancel work, submitting and logs say what is missing.
    /// </summary>
    public static SlurmRestTransport Rest(CcatSettings settings, string jobDirectory)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var rest = SlurmRestSettings.FromSettings(settings);
        var ssh = settings.GetString("SLURM_SSH_HOST").Trim().Length > 0 ? new SshConnection(SshSettings.FromSettings(settings)) : null;
        var tokens = new SlurmRestTokens(rest.Token, rest.User, ssh is null ? null : new SshSlurmShell(ssh));
        ISlurmJobFiles files = ssh is not null ? new SshSlurmJobFiles(ssh, jobDirectory)
            : Directory.Exists(jobDirectory) || Directory.Exists(Path.GetDirectoryName(jobDirectory.TrimEnd('/'))) ? new LocalSlurmJobFiles(jobDirectory)
            : new NoSlurmJobFiles(jobDirectory);
        return new SlurmRestTransport(new SlurmRestClient(rest, tokens), files, ssh);
    }
}
