using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Arrays;

/// <summary>
/// What every backend checks about a dependency before it submits: each parent must be a job it
/// knows; a parent that has already ended in a way that can never meet the condition refuses
/// the submission (<see cref="CcatErrorId.DependencyNeverSatisfied"/>, nothing submitted); parents
/// that have already ended and met it are left out. A whole array counts as one parent (its
/// summary: completed only when every element completed).
/// </summary>
public static class DependencyCheck
{
    /// <summary>The parents still to wait for; null when every one has already met the condition.</summary>
    public static async Task<JobDependency?> OutstandingAsync(HPCBackend backend, JobDependency dependency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(dependency);
        var statuses = await backend.QueryJobsAsync(dependency.ParentIds, cancellationToken).ConfigureAwait(false);
        var outstanding = new List<string>();
        foreach (var r in statuses)
        {
            if (r.Error is { } error)
            {
                if (error.IsUnavailable) throw error;
                throw new CcatException(CcatErrorId.InvalidDependency, $"-DependsOn '{r.JobId}': {error.Message}", r.JobId, error);
            }

            var parent = r.Info!;
            if (!parent.IsFinished)
            {
                outstanding.Add(r.JobId);
            }
            else if (!dependency.IsMetBy(parent))
            {
                throw NeverSatisfied(dependency, r.JobId, parent, "nothing was submitted");
            }
        }

        return outstanding.Count == 0 ? null : dependency with { ParentIds = outstanding };
    }

    /// <summary>The DependencyNeverSatisfied error for a parent that ended as <paramref name="parent"/> says.</summary>
    public static CcatException NeverSatisfied(JobDependency dependency, string parentId, HPCJobInfo parent, string consequence)
    {
        ArgumentNullException.ThrowIfNull(dependency);
        ArgumentNullException.ThrowIfNull(parent);
        return new CcatException(CcatErrorId.DependencyNeverSatisfied, Describe(dependency, parentId, parent) + "; " + consequence + ".", parentId);
    }

    /// <summary>"Job 'x' has already ended failed (NonZeroExit), so AfterOk can never be met".</summary>
    public static string Describe(JobDependency dependency, string parentId, HPCJobInfo parent)
    {
        ArgumentNullException.ThrowIfNull(dependency);
        ArgumentNullException.ThrowIfNull(parent);
        return $"Job '{parentId}' has already ended {parent.Status.ToString().ToLowerInvariant()}" +
            (parent.Reason == HPCJobReason.None ? "" : $" ({parent.Reason})") +
            $", so {dependency.Condition} can never be met";
    }
}
