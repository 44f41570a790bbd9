namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Ends the processes of a job's session from outside the runner: when the runner is gone
/// (a lost job's leftovers) or does not answer a cancel. Only processes proven to belong to the
/// session are signalled: session id equal to the job's pid and a start time no earlier than the
/// job's (see <see cref="ProcFs.SessionMembers"/>); a process that merely reuses a pid is never
/// touched.
/// </summary>
internal static class JobSessionKiller
{
    /// <summary>
    /// TERM to every member, up to <paramref name="grace"/> for them to go, then KILL. Returns
    /// true when no member is left.
    /// </summary>
    public static async Task<bool> EndAsync(int sessionId, ulong leaderStartTicks, TimeSpan grace, CancellationToken cancellationToken)
    {
        if (Signal(sessionId, leaderStartTicks, LocalNative.SIGTERM) == 0) return true;
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            if (Members(sessionId, leaderStartTicks).Count == 0) return true;
        }

        for (var i = 0; i < 50; i++)
        {
            if (Signal(sessionId, leaderStartTicks, LocalNative.SIGKILL) == 0) return true;
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        return Members(sessionId, leaderStartTicks).Count == 0;
    }

    /// <summary>Signals every current member; returns how many there were.</summary>
    public static int Signal(int sessionId, ulong leaderStartTicks, int signal)
    {
        var members = Members(sessionId, leaderStartTicks);
        foreach (var p in members)
        {
            _ = LocalNative.Kill(p.Pid, signal);
            if (signal == LocalNative.SIGTERM)
            {
                _ = LocalNative.Kill(p.Pid, LocalNative.SIGCONT); // a stopped process cannot act on TERM
            }
        }

        return members.Count;
    }

    public static List<ProcStat> Members(int sessionId, ulong leaderStartTicks) =>
        ProcFs.SessionMembers(ProcFs.Snapshot(), sessionId, leaderStartTicks);
}
