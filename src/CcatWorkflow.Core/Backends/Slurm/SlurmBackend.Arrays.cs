using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Job arrays and dependencies on Slurm: one <c>sbatch --array=spec%N</c> per array, native
/// <c>--dependency</c> with <c>--kill-on-invalid-dep=yes</c>. Parents that have already finished
/// are decided here before sbatch runs, because the controller forgets a finished job after
/// MinJobAge and then ignores a dependency on it (the dependent would start at once).
/// </summary>
public sealed partial class SlurmBackend
{
    /// <inheritdoc />
    public override bool SupportsArrays => true;

    /// <inheritdoc />
    public override bool SupportsDependencies => true;

    /// <summary>
    /// The parents Slurm must still be told about, read first (one squeue and one sacct call;
    /// the array is then one sbatch call, <c>123_0 … 123_99</c>): finished parents that meet the
    /// condition are left out, one that can never meet it refuses the submission with
    /// <see cref="CcatErrorId.DependencyNeverSatisfied"/>; null when none is left.
    /// </summary>
    protected override async Task<JobDependency?> OutstandingParentsAsync(JobDependency dependency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dependency);
        foreach (var id in dependency.ParentIds.Where(i => !SlurmJobId.IsValid(i)))
        {
            throw new CcatException(CcatErrorId.InvalidDependency, $"-DependsOn '{id}' is not a Slurm job id (expected 123, or 123_7 for an array element).", id);
        }

        var parents = await WholeArraysAsync(dependency.ParentIds, cancellationToken).ConfigureAwait(false);
        return await DependencyCheck.OutstandingAsync(this, dependency with { ParentIds = parents }, cancellationToken).ConfigureAwait(false);
    }

    // Every element of an array the module submitted, named one by one (as -DependsOn $array
    // passes them), becomes the array's id: Slurm then waits for the whole array with one short
    // dependency instead of hundreds of ids.
    private async Task<List<string>> WholeArraysAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var result = new List<string>();
        var groups = ids.Distinct(StringComparer.Ordinal).GroupBy(id => ArrayElementId.ArrayOf(id) ?? id, StringComparer.Ordinal).ToList();
        var folders = await FoldersAsync(groups.Select(g => g.Key).ToList(), cancellationToken).ConfigureAwait(false);
        foreach (var group in groups)
        {
            var elements = group.Where(id => id != group.Key).ToList();
            var spec = elements.Count > 0 && !group.Contains(group.Key) && folders[group.Key] is { } folder
                ? ReadMetadata(folder)?.ArrayIndex
                : null;
            var all = spec is null ? null : SlurmArrayIds.Expand(group.Key + "_[" + spec + "]");
            if (all is not null && all.Count == elements.Count && all.All(elements.Contains))
            {
                result.Add(group.Key);
            }
            else
            {
                result.AddRange(group.Contains(group.Key) ? [group.Key] : elements);
            }
        }

        return result;
    }

    // Until Slurm splits it, a pending array is one record; sacct sometimes prints it under the
    // plain array id ("123", not "123_[1-3]"), for example just after the array is cancelled. For
    // an array the module submitted, that row stands for every element that has no row of its own.
    private IReadOnlyList<SacctJob> ExpandArrayRecords(IReadOnlyList<SacctJob> accounted, IReadOnlyList<string> queryIds)
    {
        List<SacctJob>? expanded = null;
        foreach (var id in queryIds)
        {
            if (ArrayElementId.ArrayOf(id) is not null) continue;
            var row = accounted.FirstOrDefault(j => j.JobId == id);
            if (row is null || _folders.GetValueOrDefault(id) is not { } folder || MetadataOf(folder)?.ArrayIndex is not { } spec) continue;
            expanded ??= [.. accounted];
            expanded.Remove(row);
            var listed = accounted.Select(j => j.JobId).ToHashSet(StringComparer.Ordinal);
            expanded.AddRange(SlurmArrayIds.Expand(id + "_[" + spec + "]").Where(e => !listed.Contains(e))
                .Select(row.ForUnsplitElement));
        }

        return expanded ?? accounted;
    }

    // Logs are per element: an array's own id names no single log.
    private void EnsureOneJob(SlurmJobFolder folder)
    {
        if (folder.ArrayIndex is null && ReadMetadata(folder)?.ArrayIndex is { } spec)
        {
            var first = SlurmArrayIds.Expand(folder.JobId + "_[" + spec + "]") is [var one, ..] ? one : folder.JobId + "_0";
            throw new CcatException(CcatErrorId.InvalidJobId,
                $"'{folder.JobId}' is a job array ({spec}); logs are per element: ask for one, for example '{first}'.", folder.JobId);
        }
    }
}
