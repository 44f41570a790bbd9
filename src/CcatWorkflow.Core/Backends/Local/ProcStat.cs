namespace CcatWorkflow.Core.Backends.Local;

/// <summary>The fields of <c>/proc/&lt;pid&gt;/stat</c> the Local backend uses.</summary>
/// <param name="Pid">The process id.</param>
/// <param name="State">The state letter (R, S, D, Z, X, …).</param>
/// <param name="ParentPid">The parent's pid.</param>
/// <param name="ProcessGroup">The process group id.</param>
/// <param name="Session">The session id.</param>
/// <param name="StartTicks">Start time in clock ticks since boot: with the boot id, it tells a process from a later one that reuses its pid.</param>
/// <param name="RssPages">Resident set size in pages.</param>
internal readonly record struct ProcStat(int Pid, char State, int ParentPid, int ProcessGroup, int Session, ulong StartTicks, long RssPages)
{
    /// <summary>True for a zombie or a dead entry: it has exited, whatever else /proc says.</summary>
    public bool HasExited => State is 'Z' or 'X' or 'x';
}
