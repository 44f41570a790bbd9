using System.Globalization;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Arrays;

/// <summary>
/// What a re-run of an array's failed elements submits (Submit-CcatJob -RetryFailed), on every
/// backend that has arrays: the elements are read once, the failed ones chosen, and the re-run
/// is a new array over exactly their indices with the original's command, resources and name
/// (each unless the caller gives its own), linked to the original by <see cref="JobSubmission.RetryOf"/>.
/// </summary>
/// <param name="ArrayId">The original array's id.</param>
/// <param name="Failed">The failed elements, by index.</param>
public sealed record FailedElements(string ArrayId, IReadOnlyList<HPCJobInfo> Failed)
{
    /// <summary>The indices to run again, as an index spec (<c>1,3,5-9</c>).</summary>
    public ArrayIndexSpec Indices => ArrayIndexSpec.Of(Failed.Select(e => e.ArrayIndex!.Value));

    /// <summary>
    /// Reads <paramref name="ids"/> (an array's id, or elements of one array) in one status call
    /// and keeps the failed elements. Refuses ids that are not arrays or their elements, elements
    /// of several arrays (<see cref="CcatErrorId.InvalidArraySpec"/>), and a selection with no
    /// failed element (<see cref="CcatErrorId.NoFailedElements"/>); a backend that cannot be
    /// asked throws its own error.
    /// </summary>
    public static async Task<FailedElements> FindAsync(HPCBackend backend, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0) throw new CcatException(CcatErrorId.InvalidArraySpec, "-RetryFailed names no array.");
        var elements = new List<HPCJobInfo>();
        foreach (var r in await backend.QueryJobsAsync(ids, cancellationToken).ConfigureAwait(false))
        {
            if (r.Error is { } error) throw error;
            var found = r.Elements ?? [r.Info!];
            if (found.FirstOrDefault(e => e.ArrayJobId is null || e.ArrayIndex is null) is { } single)
            {
                throw new CcatException(CcatErrorId.InvalidArraySpec,
                    $"-RetryFailed takes a job array (its id or its elements); '{single.JobId}' is a single job: submit it again instead.", single.JobId);
            }

            elements.AddRange(found);
        }

        var arrays = elements.Select(e => e.ArrayJobId!).Distinct(StringComparer.Ordinal).ToList();
        if (arrays.Count > 1)
        {
            throw new CcatException(CcatErrorId.InvalidArraySpec,
                $"-RetryFailed re-runs the elements of one array at a time; these belong to {string.Join(", ", arrays)}.");
        }

        var failed = elements.Where(e => e.Status == HPCJobStatus.Failed).DistinctBy(e => e.ArrayIndex).OrderBy(e => e.ArrayIndex).ToList();
        if (failed.Count == 0)
        {
            var counts = string.Join(", ", elements.GroupBy(e => e.Status).Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}")));
            throw new CcatException(CcatErrorId.NoFailedElements,
                $"Array {arrays[0]} has no failed element ({counts}); nothing was submitted.", arrays[0]);
        }

        return new FailedElements(arrays[0], failed);
    }

    /// <summary>
    /// The re-run: <paramref name="overrides"/> (what the caller gave) with the original's
    /// command, resources and name wherever the caller gave none, over the failed indices.
    /// </summary>
    /// <param name="overrides">The caller's submission; <see cref="JobSubmission.ExecutionCommand"/> empty means "the original's".</param>
    /// <param name="resourcesGiven">True when the caller gave resources (else the original's are used).</param>
    /// <param name="nameGiven">True when the caller gave a job name.</param>
    public JobSubmission Resubmission(JobSubmission overrides, bool resourcesGiven, bool nameGiven)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var original = Failed[0];
        var command = string.IsNullOrEmpty(overrides.ExecutionCommand) ? original.Command : overrides.ExecutionCommand;
        if (string.IsNullOrEmpty(command))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission,
                $"The {original.Backend} backend no longer knows the command of array {ArrayId}; give it with -ExecutionCommand.", ArrayId);
        }

        return overrides with
        {
            ExecutionCommand = command,
            Resources = resourcesGiven ? overrides.Resources
                : new ResourceRequirements(original.RequestedCpu, original.RequestedMemoryGb, original.RequestedTimeHours, original.RequestedGpu),
            JobName = nameGiven ? overrides.JobName : original.JobName ?? overrides.JobName,
            ArrayIndex = Indices,
            RetryOf = ArrayId,
        };
    }
}
