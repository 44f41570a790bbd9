namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// <c>runner.json</c>: who watches the job, written by the runner once the job's process
/// exists. Every pid comes with its start time and the boot id and pid namespace it belongs to,
/// so a later process that reuses a pid can neither look like the job nor be signalled for it.
/// </summary>
internal sealed record LocalRunnerState
{
    /// <summary>Format version of the file.</summary>
    public int Version { get; init; } = 1;

    /// <summary>Host name of the runner.</summary>
    public required string Host { get; init; }

    /// <summary>Boot id of the runner's machine.</summary>
    public string? BootId { get; init; }

    /// <summary>Pid namespace of the runner.</summary>
    public string? PidNamespace { get; init; }

    /// <summary>The runner's pid.</summary>
    public required int RunnerPid { get; init; }

    /// <summary>The runner's start time in clock ticks since boot.</summary>
    public required ulong RunnerStartTicks { get; init; }

    /// <summary>The pid of the job's <c>/bin/sh</c>; also its session and process group id (0 in the copy written just before it starts).</summary>
    public required int JobPid { get; init; }

    /// <summary>The job process's start time in clock ticks since boot.</summary>
    public required ulong JobStartTicks { get; init; }

    /// <summary>When the job's process was started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>
    /// The job's cgroup (the mark of its processes), or null when none could be made here and
    /// the inherited marker fd on runner.lock is the mark.
    /// </summary>
    public string? Cgroup { get; init; }

    /// <summary>Which runner watches the job: "native" (the Native AOT ccat-runner) or "managed" (dotnet CcatWorkflow.LocalRunner.dll).</summary>
    public string? Runner { get; init; }

    /// <summary>
    /// The cgroups the job runs in, as the record's <c>cgroup</c> field shows them: "v1 pids+memory+cpu",
    /// "v1 pids", "v2 memory", or "none" (no cgroup could be made: a memory request is then checked
    /// by sampling, not enforced by the kernel, and a cpu request is not limited). Null in a state written before this field existed.
    /// </summary>
    public string? CgroupUse { get; init; }

    /// <summary>The job's memory cgroup (the kernel enforces memory_gb there), or null when it has none.</summary>
    public string? MemoryCgroup { get; init; }

    /// <summary>The job's CPU cgroup (the kernel holds the job to its cpu request there), or null when it has none.</summary>
    public string? CpuCgroup { get; init; }

    /// <summary>True when this state was recorded on this machine, in this pid namespace, this boot.</summary>
    public bool IsOnThisMachine() =>
        BootId is not null && PidNamespace is not null && BootId == ProcFs.BootId && PidNamespace == ProcFs.PidNamespace;
}
