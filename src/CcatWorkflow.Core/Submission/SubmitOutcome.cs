using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Submission;

/// <summary>
/// What became of one submission of a batch (<see cref="HPCBackend.SubmitManyJobsAsync"/>): the
/// ids of the jobs it made, or the error that says it made none (or, where the message says so,
/// what is known of the job it did make).
/// </summary>
public sealed class SubmitOutcome
{
    private SubmitOutcome(IReadOnlyList<string>? ids, CcatException? error)
    {
        Ids = ids;
        Error = error;
    }

    /// <summary>The job ids (one per array element), or null when the submission failed.</summary>
    public IReadOnlyList<string>? Ids { get; }

    /// <summary>Why the submission failed, or null when it succeeded.</summary>
    public CcatException? Error { get; }

    /// <summary>A submission that made these jobs.</summary>
    public static SubmitOutcome Submitted(IReadOnlyList<string> ids) => new(ids, null);

    /// <summary>A submission that failed.</summary>
    public static SubmitOutcome Failed(CcatException error) => new(null, error);
}
