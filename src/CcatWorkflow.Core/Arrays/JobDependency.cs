namespace CcatWorkflow.Core.Arrays;

/// <summary>
/// The jobs a submission waits for and the condition on their outcome. A parent may be a job,
/// an array element (<c>123_7</c>) or a whole array (its array id: all its elements).
/// </summary>
/// <param name="ParentIds">The parents' ids on the submission's backend, without repeats.</param>
/// <param name="Condition">When the dependent may start.</param>
public sealed record JobDependency(IReadOnlyList<string> ParentIds, DependencyCondition Condition)
{
    /// <summary>
    /// What a finished parent means for the condition: true when it meets it (the parent can be
    /// left out of what the scheduler is told), false when it can never meet it.
    /// </summary>
    public bool IsMetBy(HPCJobInfo finishedParent)
    {
        ArgumentNullException.ThrowIfNull(finishedParent);
        return Condition switch
        {
            DependencyCondition.AfterOk => finishedParent.Status == HPCJobStatus.Completed,
            DependencyCondition.AfterNotOk => finishedParent.Status == HPCJobStatus.Failed,
            _ => true,
        };
    }

    /// <summary>
    /// The verdict over every parent (an array's elements given one by one): never satisfied as
    /// soon as one finished parent cannot meet the condition, met once all have ended and met
    /// it, else waiting. With no parent at all the condition is met.
    /// </summary>
    public DependencyVerdict Evaluate(IEnumerable<HPCJobInfo> parents)
    {
        ArgumentNullException.ThrowIfNull(parents);
        var waiting = false;
        foreach (var parent in parents)
        {
            if (!parent.IsFinished) waiting = true;
            else if (!IsMetBy(parent)) return DependencyVerdict.NeverSatisfied;
        }

        return waiting ? DependencyVerdict.Waiting : DependencyVerdict.Met;
    }
}
