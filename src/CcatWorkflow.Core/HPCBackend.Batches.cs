using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core;

/// <summary>Many submissions in one call (a pipeline of jobs into one Submit-CcatJob).</summary>
public abstract partial class HPCBackend
{
    /// <summary>
    /// True when <see cref="SubmitManyAsync"/> does better than one submission after another
    /// (one store round trip, runners started together): the cmdlet then gathers the jobs that
    /// come through the pipeline into batches. Default: false (each job is submitted as it comes).
    /// </summary>
    public virtual bool SubmitsInBatches => false;

    /// <summary>
    /// Validates and submits many jobs: one <see cref="SubmitOutcome"/> per submission, in the
    /// order given. A failure of one job is its outcome and never undoes another. Plain jobs
    /// (no array, dependency or retry policy) go to <see cref="SubmitManyAsync"/> together; the
    /// others are submitted one at a time as by <see cref="SubmitJobsAsync"/>. Cancellation
    /// ends the call with <see cref="OperationCanceledException"/>; each job it interrupted is
    /// handled as a cancelled single submission (rolled back, or ended and said so).
    /// </summary>
    public async Task<IReadOnlyList<SubmitOutcome>> SubmitManyJobsAsync(IReadOnlyList<JobSubmission> submissions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submissions);
        var outcomes = new SubmitOutcome[submissions.Count];
        var plain = new List<int>();
        for (var i = 0; i < submissions.Count; i++)
        {
            var s = submissions[i] ?? throw new ArgumentException("A submission of the batch is null.", nameof(submissions));
            if (s.ArrayIndex is not null || s.Dependency is not null || s.Retry is not null)
            {
                outcomes[i] = await OutcomeAsync(() => SubmitJobsAsync(s, cancellationToken)).ConfigureAwait(false);
                continue;
            }

            try
            {
                s.Validate();
                EnsureSupported(s);
                plain.Add(i);
            }
            catch (CcatException e)
            {
                outcomes[i] = SubmitOutcome.Failed(e);
            }
        }

        if (plain.Count == 0) return outcomes;
        var made = await SubmitManyAsync(plain.Select(i => submissions[i]).ToList(), cancellationToken).ConfigureAwait(false);
        if (made.Count != plain.Count || made.Any(o => o.Error is null && (o.Ids is not { Count: > 0 } ids || ids.Any(string.IsNullOrWhiteSpace))))
        {
            throw new InvalidOperationException($"The {Kind} backend did not return one job id per submission of the batch.");
        }

        for (var k = 0; k < plain.Count; k++) outcomes[plain[k]] = made[k];
        return outcomes;
    }

    /// <summary>
    /// Primitive with a default: submits validated plain jobs (no array, dependency or retry
    /// policy), one outcome per submission in the order given. The default submits them one
    /// after another with <see cref="SubmitAsync"/>; a backend that can do better (one store
    /// round trip, starts in parallel) overrides it and <see cref="SubmitsInBatches"/>.
    /// </summary>
    protected virtual async Task<IReadOnlyList<SubmitOutcome>> SubmitManyAsync(IReadOnlyList<JobSubmission> submissions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submissions);
        var outcomes = new List<SubmitOutcome>(submissions.Count);
        foreach (var s in submissions)
        {
            outcomes.Add(await OutcomeAsync(async () => [await SubmitAsync(s, cancellationToken).ConfigureAwait(false)]).ConfigureAwait(false));
        }

        return outcomes;
    }

    private static async Task<SubmitOutcome> OutcomeAsync(Func<Task<IReadOnlyList<string>>> submit)
    {
        try
        {
            return SubmitOutcome.Submitted(await submit().ConfigureAwait(false));
        }
        catch (CcatException e)
        {
            return SubmitOutcome.Failed(e);
        }
    }
}
