using System.Management.Automation;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands;

/// <summary>Turns what a caller gave -DependsOn (jobs or ids) into a dependency on one backend.</summary>
internal static class JobDependencies
{
    /// <summary>
    /// The dependency on <paramref name="parents"/>, or null when none were given. A job of
    /// another backend, or anything that is neither a job nor an id, is refused with
    /// <see cref="CcatErrorId.InvalidDependency"/>: a scheduler cannot wait for another's jobs.
    /// </summary>
    public static JobDependency? From(object[]? parents, DependencyCondition condition, HPCBackendKind backend)
    {
        if (parents is null) return null;
        var ids = new List<string>();
        foreach (var raw in parents)
        {
            var value = raw is PSObject ps ? ps.BaseObject : raw;
            switch (value)
            {
                case HPCJobInfo job when job.Backend != backend:
                    throw new CcatException(CcatErrorId.InvalidDependency,
                        $"Job '{job.JobId}' is on {job.Backend}; a job on {backend} can only depend on {backend} jobs (dependencies across backends are not supported).", job.JobId);
                case HPCJobInfo job:
                    ids.Add(job.JobId);
                    break;
                case string id when !string.IsNullOrWhiteSpace(id):
                    ids.Add(id.Trim());
                    break;
                default:
                    throw new CcatException(CcatErrorId.InvalidDependency,
                        $"-DependsOn takes jobs (HPCJobInfo, as Submit-CcatJob returns them) or job ids; got '{value}'.");
            }
        }

        return new JobDependency(ids.Distinct(StringComparer.Ordinal).ToList(), condition);
    }
}
