using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Backends.Slurm;

namespace CcatWorkflow.Core.Errors;

/// <summary>
/// Which backend a job id looks like it belongs to, for the hint after an InvalidJobId error:
/// a Slurm id given without <c>-Backend</c> lands on the configured (often Local) backend.
/// </summary>
public static class JobIdHint
{
    /// <summary>
    /// The backend whose id form <paramref name="jobId"/> has — a UUID is Local, digits are
    /// Slurm, another DNS-1123 name is Kubernetes — or null when it has none of them.
    /// </summary>
    public static HPCBackendKind? LikelyBackend(string? jobId)
    {
        if (string.IsNullOrWhiteSpace(jobId)) return null;
        var id = jobId.Trim();
        if (id.Length == 36 && Guid.TryParseExact(id, "D", out _)) return HPCBackendKind.Local;
        if (SlurmJobId.IsValid(id)) return HPCBackendKind.Slurm;
        if (KubernetesNames.IsValidJobId(id)) return HPCBackendKind.Kubernetes;
        return null;
    }

    /// <summary>
    /// A sentence to append to the error for <paramref name="jobId"/> refused by
    /// <paramref name="refusedBy"/>, or an empty string when the id looks like no other backend's.
    /// </summary>
    public static string For(string? jobId, HPCBackendKind? refusedBy)
    {
        var likely = LikelyBackend(jobId);
        return likely is { } kind && kind != refusedBy
            ? $" It looks like a {kind} job id: add -Backend {kind}."
            : "";
    }
}
