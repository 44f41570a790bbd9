namespace CcatWorkflow;

/// <summary>How much of a requested resource a job used (Measure-CcatJob).</summary>
public enum ResourceVerdict
{
    /// <summary>It used less than half of what was asked: ask for less next time.</summary>
    OverAsked,
    /// <summary>It used between half and 90 % of what was asked.</summary>
    Fine,
    /// <summary>It used 90 % or more of what was asked, or was ended for reaching it (out of memory, timeout).</summary>
    AtLimit,
}
