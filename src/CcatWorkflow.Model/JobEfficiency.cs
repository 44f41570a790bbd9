namespace CcatWorkflow;

/// <summary>
/// What one job used of what it asked for, as Measure-CcatJob reports it. Immutable. A figure
/// that cannot be computed (nothing asked, nothing measured) is null, and so is its verdict.
/// </summary>
public sealed class JobEfficiency
{
    /// <summary>Creates a measurement.</summary>
    /// <param name="job">The job measured.</param>
    /// <param name="cpus">The CPUs the CPU efficiency is relative to (requested, else allocated).</param>
    /// <param name="cpuEfficiency">CpuHours / (CPUs × wall hours).</param>
    /// <param name="cpuVerdict">The CPU verdict.</param>
    /// <param name="memoryEfficiency">Peak memory / requested memory.</param>
    /// <param name="memoryVerdict">The memory verdict.</param>
    /// <param name="timeUsed">Wall time / time limit.</param>
    /// <param name="timeVerdict">The time verdict.</param>
    public JobEfficiency(HPCJobInfo job, double? cpus, double? cpuEfficiency, ResourceVerdict? cpuVerdict,
        double? memoryEfficiency, ResourceVerdict? memoryVerdict, double? timeUsed, ResourceVerdict? timeVerdict)
    {
        ArgumentNullException.ThrowIfNull(job);
        Job = job;
        Cpus = cpus;
        CpuEfficiency = cpuEfficiency;
        CpuVerdict = cpuVerdict;
        MemoryEfficiency = memoryEfficiency;
        MemoryVerdict = memoryVerdict;
        TimeUsed = timeUsed;
        TimeVerdict = timeVerdict;
    }

    /// <summary>The job measured, as the backend reported it.</summary>
    public HPCJobInfo Job { get; }

    /// <summary>The job id.</summary>
    public string JobId => Job.JobId;

    /// <summary>The backend.</summary>
    public HPCBackendKind Backend => Job.Backend;

    /// <summary>The job name.</summary>
    public string? JobName => Job.JobName;

    /// <summary>The job's status when measured (a running job is measured so far).</summary>
    public HPCJobStatus Status => Job.Status;

    /// <summary>The CPUs the CPU efficiency is relative to: the request, else what the backend allocated.</summary>
    public double? Cpus { get; }

    /// <summary>CPU efficiency: CpuHours / (CPUs × wall hours); 1 = every CPU busy the whole time.</summary>
    public double? CpuEfficiency { get; }

    /// <summary>The CPU verdict.</summary>
    public ResourceVerdict? CpuVerdict { get; }

    /// <summary>Memory efficiency: peak resident memory / requested memory.</summary>
    public double? MemoryEfficiency { get; }

    /// <summary>The memory verdict.</summary>
    public ResourceVerdict? MemoryVerdict { get; }

    /// <summary>Time used: wall time / time limit.</summary>
    public double? TimeUsed { get; }

    /// <summary>The time verdict.</summary>
    public ResourceVerdict? TimeVerdict { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Backend}:{JobId} cpu {CpuEfficiency:P0} memory {MemoryEfficiency:P0} time {TimeUsed:P0}";
}
