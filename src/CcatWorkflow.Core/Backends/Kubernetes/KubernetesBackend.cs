using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>The Kubernetes backend. PLACEHOLDER: being written (see its issue).</summary>
public sealed class KubernetesBackend : HPCBackend
{
    /// <summary>The settings this backend depends on (a change rebuilds it).</summary>
    public static IReadOnlyList<string> SettingNames { get; } = [];

    /// <summary>Builds the backend from settings.</summary>
    public static KubernetesBackend Create(CcatSettings settings) => throw new NotImplementedException("Kubernetes backend not written yet");

    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Kubernetes;

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
