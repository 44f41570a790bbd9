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
            var other => throw new CcatException(CcatErrorId.InvalidConfiguration, $"Setting SLURM_TRANSPORT is '{other}'; it must be cli or ssh."),
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
            _ => Ssh(new SshConnection(SshSettings.FromSettings(settings)), options.JobDirectory),
        };
    }
}
