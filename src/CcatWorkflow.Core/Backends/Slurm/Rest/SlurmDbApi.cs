namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>
/// The accounting API of slurmrestd (<c>/slurmdb/v0.0.36</c> … <c>v0.0.38</c>): jobs with their
/// steps, which carry the metrics (TotalCPU in <c>steps[].time.total</c>; peak memory in
/// <c>steps[].tres.requested.max</c>, type mem, bytes — TRESUsageInMax despite its name). Only
/// the fields read are declared; unknown ones are ignored; every integer is a <c>long?</c>, read
/// by <see cref="FlexibleInt64Converter"/>, which <see cref="SlurmRestJson"/> registers once for
/// every such property (no per-property attribute to forget). The same records serve
/// v0.0.36 to v0.0.38: their shapes agree on every field read.
/// </summary>
public static class SlurmDbApi
{
    /// <summary>The versions the module speaks, newest first.</summary>
    public static IReadOnlyList<string> Versions { get; } = ["v0.0.38", "v0.0.37", "v0.0.36"];

    /// <summary>One job's accounting record (the answer is a <see cref="SlurmApi.JobsResponse{TJob}"/> of them).</summary>
    public sealed record DbJob
    {
        /// <summary>The job's own (raw) id.</summary>
        public long? JobId { get; init; }
        /// <summary>The job name.</summary>
        public string? Name { get; init; }
        /// <summary>The state (<c>current</c>) and reason.</summary>
        public JobState? State { get; init; }
        /// <summary>The exit code. On 22.05 a normal exit reads SUCCESS/0 whatever its code (a bug); signals read right.</summary>
        public ExitCode? ExitCode { get; init; }
        /// <summary>Times.</summary>
        public Times? Time { get; init; }
        /// <summary>The working directory (the module's job folder).</summary>
        public string? WorkingDirectory { get; init; }
        /// <summary>The comments.</summary>
        public Comments? Comment { get; init; }
        /// <summary>The array the job belongs to.</summary>
        public ArrayInfo? Array { get; init; }
        /// <summary>Allocated and requested resources.</summary>
        public JobTres? Tres { get; init; }
        /// <summary>Who cancelled it, when someone did.</summary>
        public string? KillRequestUser { get; init; }
        /// <summary>The steps (batch, extern, 0…).</summary>
        public IReadOnlyList<StepRecord>? Steps { get; init; }
    }

    /// <summary>A state and its reason.</summary>
    public sealed record JobState
    {
        /// <summary>COMPLETED, FAILED, CANCELLED…</summary>
        public string? Current { get; init; }
        /// <summary>Why it waited.</summary>
        public string? Reason { get; init; }
    }

    /// <summary>An exit code: SUCCESS, ERROR, SIGNALED, PENDING.</summary>
    public sealed record ExitCode
    {
        /// <summary>The status word.</summary>
        public string? Status { get; init; }
        /// <summary>The code (unreliable on 22.05, see <see cref="DbJob.ExitCode"/>).</summary>
        public long? ReturnCode { get; init; }
        /// <summary>The signal, when SIGNALED.</summary>
        public Signal? Signal { get; init; }
    }

    /// <summary>A signal.</summary>
    public sealed record Signal
    {
        /// <summary>Its number.</summary>
        public long? SignalId { get; init; }
        /// <summary>Its name.</summary>
        public string? Name { get; init; }
    }

    /// <summary>Times of a job or step: epoch seconds, elapsed seconds, CPU times.</summary>
    public sealed record Times
    {
        /// <summary>Seconds it ran.</summary>
        public long? Elapsed { get; init; }
        /// <summary>Submission (epoch seconds).</summary>
        public long? Submission { get; init; }
        /// <summary>Start (epoch seconds; 0 = not started).</summary>
        public long? Start { get; init; }
        /// <summary>End (epoch seconds; 0 = not ended).</summary>
        public long? End { get; init; }
        /// <summary>User + system CPU time (TotalCPU).</summary>
        public CpuTime? Total { get; init; }
    }

    /// <summary>CPU time as seconds and microseconds.</summary>
    public sealed record CpuTime
    {
        /// <summary>Whole seconds.</summary>
        public long? Seconds { get; init; }
        /// <summary>Microseconds on top.</summary>
        public long? Microseconds { get; init; }

        /// <summary>As a span; null when neither part is given.</summary>
        public TimeSpan? ToTimeSpan() => Seconds is null && Microseconds is null
            ? null
            : TimeSpan.FromSeconds(Seconds ?? 0) + TimeSpan.FromTicks((Microseconds ?? 0) * 10);
    }

    /// <summary>The comments of a job.</summary>
    public sealed record Comments
    {
        /// <summary>--comment (stored with AccountingStoreFlags=job_comment).</summary>
        public string? Job { get; init; }
    }

    /// <summary>Array membership.</summary>
    public sealed record ArrayInfo
    {
        /// <summary>The array's id; 0 when not an array.</summary>
        public long? JobId { get; init; }
        /// <summary>The element's index.</summary>
        public long? TaskId { get; init; }
        /// <summary>The indexes a compressed (still pending) record stands for.</summary>
        public string? Task { get; init; }
    }

    /// <summary>The job's resources.</summary>
    public sealed record JobTres
    {
        /// <summary>Allocated (cpu count = AllocCPUS).</summary>
        public IReadOnlyList<Tres>? Allocated { get; init; }
    }

    /// <summary>One trackable resource and its count.</summary>
    public sealed record Tres
    {
        /// <summary>cpu, mem, node, fs…</summary>
        public string? Type { get; init; }
        /// <summary>The count (bytes for mem in a step's usage, MiB in an allocation).</summary>
        public long? Count { get; init; }
    }

    /// <summary>One step.</summary>
    public sealed record StepRecord
    {
        /// <summary>Its times (time.total = TotalCPU).</summary>
        public Times? Time { get; init; }
        /// <summary>Its state.</summary>
        public string? State { get; init; }
        /// <summary>Its exit code (same caveat as the job's).</summary>
        public ExitCode? ExitCode { get; init; }
        /// <summary>Its usage.</summary>
        public StepTres? Tres { get; init; }
    }

    /// <summary>A step's resource usage.</summary>
    public sealed record StepTres
    {
        /// <summary>Usage statistics (TRESUsageIn*): <c>max</c> holds the peak memory.</summary>
        public TresUsage? Requested { get; init; }
    }

    /// <summary>Usage statistics of a step.</summary>
    public sealed record TresUsage
    {
        /// <summary>The maxima (TRESUsageInMax): mem in bytes = MaxRSS.</summary>
        public IReadOnlyList<Tres>? Max { get; init; }
    }
}
