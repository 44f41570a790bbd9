namespace CcatWorkflow;

/// <summary>The four job states of the seed's <c>HPCJobInfo.status</c>.</summary>
public enum HPCJobStatus
{
    /// <summary>Accepted by the backend, not running yet.</summary>
    Pending,
    /// <summary>Running now.</summary>
    Running,
    /// <summary>Finished with exit code 0 and nothing else.</summary>
    Completed,
    /// <summary>Finished any other way; <see cref="HPCJobInfo.Reason"/> says how.</summary>
    Failed,
}
