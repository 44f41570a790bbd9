using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>The Slurm backend. PLACEHOLDER: being written (see its issue).</summary>
public sealed class SlurmBackend : HPCBackend
{
    /// <summary>The settings this backend depends on (a change rebuilds it).</summary>
    public static IReadOnlyList<string> SettingNames { get; } = [];

    /// <summary>Builds the backend from settings.</summary>
    public static SlurmBackend Create(CcatSettings settings) => throw new NotImplementedException("Slurm backend not written yet");

    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Slurm;

    /// <inheritdoc />
    public override Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <inheritdoc />
    public override string DescribeSubmission(JobSubmission submission) => throw new NotImplementedException();

    /// <inheritdoc />
    public override Task<IReadOnlyList<JobQueryResult>> GetStatusesAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <inheritdoc />
    public override Task CancelAsync(string jobId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <inheritdoc />
    public override Task<string> GetLogsAsync(string jobId, LogQuery query, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <inheritdoc />
    public override Task<IReadOnlyList<HPCJobInfo>> ListJobsAsync(CancellationToken cancellationToken) => throw new NotImplementedException();
}
