namespace CcatWorkflow;

/// <summary>
/// Status and metrics of one job, as every cmdlet returns it. Immutable. Every metric is
/// nullable: <c>null</c> means "not measured", never a made-up zero.
/// </summary>
/// <remarks>
/// Runbooks that mock the cmdlets in Pester build one with
/// <c>[CcatWorkflow.HPCJobInfo]::new('42', 'Slurm', 'Failed')</c>; every argument after the
/// status is optional and can be given by position.
/// </remarks>
public sealed class HPCJobInfo
{
    /// <summary>Creates a job record.</summary>
    /// <param name="jobId">The backend-specific job id (Slurm id, Kubernetes Job name, Local UUID).</param>
    /// <param name="backend">The backend that owns the job.</param>
    /// <param name="status">One of pending, running, completed, failed.</param>
    /// <param name="jobName">The job name given at submission, if known.</param>
    /// <param name="exitCode">The command's exit code, if it ended and the code is known.</param>
    /// <param name="wallTimeSeconds">Elapsed run time in seconds.</param>
    /// <param name="cpuHours">CPU time actually used (user + system) in hours.</param>
    /// <param name="peakMemoryGb">Peak resident memory in GB (10^9 bytes is not used: 1 GB = 1024^3 bytes).</param>
    /// <param name="reason">Why the job is in its state.</param>
    /// <param name="nativeState">The backend's own state word (for example <c>CANCELLED by 0</c>).</param>
    /// <param name="submittedAt">When the backend accepted the job.</param>
    /// <param name="startedAt">When the job started running.</param>
    /// <param name="finishedAt">When the job ended.</param>
    /// <param name="message">A human-readable detail from the backend, if any.</param>
    /// <param name="allocatedCpuHours">Core-hours allocated (elapsed × allocated CPUs), where the backend reports it.</param>
    /// <param name="arrayJobId">For an element of a job array, the array's id (the element's id is <c>&lt;arrayJobId&gt;_&lt;arrayIndex&gt;</c>).</param>
    /// <param name="arrayIndex">For an element of a job array, its index.</param>
    /// <param name="requestedCpu">CPUs asked for at submission; null when not asked.</param>
    /// <param name="requestedMemoryGb">Memory asked for at submission, in GiB; null when not asked.</param>
    /// <param name="requestedTimeHours">Time limit asked for at submission, in hours; null when not asked.</param>
    /// <param name="requestedGpu">GPUs asked for at submission; null when not asked.</param>
    /// <param name="command">The execution command as submitted.</param>
    /// <param name="logPath">The job's standard output file, where the backend keeps files.</param>
    public HPCJobInfo(
        string jobId,
        HPCBackendKind backend,
        HPCJobStatus status,
        string? jobName = null,
        int? exitCode = null,
        double? wallTimeSeconds = null,
        double? cpuHours = null,
        double? peakMemoryGb = null,
        HPCJobReason reason = HPCJobReason.None,
        string? nativeState = null,
        DateTimeOffset? submittedAt = null,
        DateTimeOffset? startedAt = null,
        DateTimeOffset? finishedAt = null,
        string? message = null,
        double? allocatedCpuHours = null,
        string? arrayJobId = null,
        int? arrayIndex = null,
        int? requestedCpu = null,
        double? requestedMemoryGb = null,
        double? requestedTimeHours = null,
        int? requestedGpu = null,
        string? command = null,
        string? logPath = null)
    {
        if (string.IsNullOrWhiteSpace(jobId))
        {
            throw new ArgumentException("A job id is required.", nameof(jobId));
        }

        _jobId = jobId;
        Backend = backend;
        Status = status;
        JobName = jobName;
        ExitCode = exitCode;
        WallTimeSeconds = wallTimeSeconds;
        CpuHours = cpuHours;
        PeakMemoryGb = peakMemoryGb;
        Reason = reason;
        NativeState = nativeState;
        SubmittedAt = submittedAt;
        StartedAt = startedAt;
        FinishedAt = finishedAt;
        Message = message;
        AllocatedCpuHours = allocatedCpuHours;
        ArrayJobId = arrayJobId;
        ArrayIndex = arrayIndex;
        _requestedCpu = requestedCpu;
        _requestedMemoryGb = requestedMemoryGb;
        _requestedTimeHours = requestedTimeHours;
        _requestedGpu = requestedGpu;
        _command = command;
        _logPath = logPath;
    }

    // Not readonly only so WithSubmission can set them on a fresh copy; never changed after.
    private int? _requestedCpu;
    private double? _requestedMemoryGb;
    private double? _requestedTimeHours;
    private int? _requestedGpu;
    private string? _command;
    private string? _logPath;

    // Not readonly only so WithJobId can set it on a fresh copy; never changed after.
    private string _jobId;

    /// <summary>The backend-specific job id.</summary>
    public string JobId => _jobId;

    /// <summary>The backend that owns the job.</summary>
    public HPCBackendKind Backend { get; }

    /// <summary>pending, running, completed or failed.</summary>
    public HPCJobStatus Status { get; }

    /// <summary>The job name given at submission.</summary>
    public string? JobName { get; }

    /// <summary>The command's exit code; null while it runs or when unknown.</summary>
    public int? ExitCode { get; }

    /// <summary>Elapsed run time in seconds; null when not measured.</summary>
    public double? WallTimeSeconds { get; }

    /// <summary>CPU time actually used (user + system of the whole job) in hours; null when not measured.</summary>
    public double? CpuHours { get; }

    /// <summary>Peak resident memory in GiB; null when not measured.</summary>
    public double? PeakMemoryGb { get; }

    /// <summary>Why the job is in its state.</summary>
    public HPCJobReason Reason { get; }

    /// <summary>The backend's own state word, kept as the backend said it.</summary>
    public string? NativeState { get; }

    /// <summary>When the backend accepted the job.</summary>
    public DateTimeOffset? SubmittedAt { get; }

    /// <summary>When the job started running.</summary>
    public DateTimeOffset? StartedAt { get; }

    /// <summary>When the job ended.</summary>
    public DateTimeOffset? FinishedAt { get; }

    /// <summary>A human-readable detail from the backend.</summary>
    public string? Message { get; private set; }

    /// <summary>Core-hours allocated (elapsed × allocated CPUs), where the backend reports it.</summary>
    public double? AllocatedCpuHours { get; }

    /// <summary>For an element of a job array, the array's id; null for a job that is not an array element.</summary>
    public string? ArrayJobId { get; private set; }

    /// <summary>For an element of a job array, its index (what the job sees in CCAT_ARRAY_INDEX); null otherwise.</summary>
    public int? ArrayIndex { get; private set; }

    /// <summary>CPUs asked for at submission; null when not asked (the backend's default applied).</summary>
    public int? RequestedCpu => _requestedCpu;

    /// <summary>Memory asked for at submission, in GiB; null when not asked.</summary>
    public double? RequestedMemoryGb => _requestedMemoryGb;

    /// <summary>Time limit asked for at submission, in hours; null when not asked.</summary>
    public double? RequestedTimeHours => _requestedTimeHours;

    /// <summary>GPUs asked for at submission; null when not asked.</summary>
    public int? RequestedGpu => _requestedGpu;

    /// <summary>The execution command as submitted; null when the backend's record does not hold it.</summary>
    public string? Command => _command;

    /// <summary>The job's standard output file (stderr.log lies beside it), where the backend keeps files; null otherwise.</summary>
    public string? LogPath => _logPath;

    /// <summary>
    /// A copy of this record with what was asked at submission filled in (a value already set
    /// is kept when the argument is null). Backends call it with what their record holds.
    /// </summary>
    /// <param name="requestedCpu">CPUs asked for.</param>
    /// <param name="requestedMemoryGb">Memory asked for, in GiB.</param>
    /// <param name="requestedTimeHours">Time limit asked for, in hours.</param>
    /// <param name="requestedGpu">GPUs asked for.</param>
    /// <param name="command">The execution command as submitted.</param>
    /// <param name="logPath">The job's standard output file.</param>
    /// <returns>A new record; this one is not changed.</returns>
    public HPCJobInfo WithSubmission(int? requestedCpu, double? requestedMemoryGb, double? requestedTimeHours, int? requestedGpu, string? command, string? logPath)
    {
        // A member-wise copy keeps every other field, including ones added later.
        var copy = (HPCJobInfo)MemberwiseClone();
        copy._requestedCpu = requestedCpu ?? _requestedCpu;
        copy._requestedMemoryGb = requestedMemoryGb ?? _requestedMemoryGb;
        copy._requestedTimeHours = requestedTimeHours ?? _requestedTimeHours;
        copy._requestedGpu = requestedGpu ?? _requestedGpu;
        copy._command = command ?? _command;
        copy._logPath = logPath ?? _logPath;
        return copy;
    }

    // Set only by WithScheduling on a fresh copy; never changed after.
    private string? _partition;
    private string? _account;
    private string? _qos;
    private string? _namespace;

    /// <summary>The Slurm partition the job was submitted to (Submit-CcatJob -Partition or SLURM_PARTITION); null for the cluster's default or another backend.</summary>
    public string? Partition => _partition;

    /// <summary>The Slurm account the job was submitted under (-Account or SLURM_ACCOUNT); null for none.</summary>
    public string? Account => _account;

    /// <summary>The Slurm QOS the job asked for (-Qos or SLURM_QOS); null for none.</summary>
    public string? Qos => _qos;

    /// <summary>The Kubernetes namespace the job runs in (-Namespace or K8S_NAMESPACE); null on other backends.</summary>
    public string? Namespace => _namespace;

    /// <summary>
    /// A copy of this record with where the job was submitted filled in (a value already set is
    /// kept when the argument is null). Backends call it with what their record holds.
    /// </summary>
    /// <param name="partition">The Slurm partition.</param>
    /// <param name="account">The Slurm account.</param>
    /// <param name="qos">The Slurm QOS.</param>
    /// <param name="namespace">The Kubernetes namespace.</param>
    /// <returns>A new record; this one is not changed.</returns>
    public HPCJobInfo WithScheduling(string? partition, string? account, string? qos, string? @namespace)
    {
        var copy = (HPCJobInfo)MemberwiseClone();
        copy._partition = partition ?? _partition;
        copy._account = account ?? _account;
        copy._qos = qos ?? _qos;
        copy._namespace = @namespace ?? _namespace;
        return copy;
    }

    /// <summary>
    /// A copy of this record known by another id (a Kubernetes job outside K8S_NAMESPACE is
    /// known as <c>namespace/name</c>); everything else is kept.
    /// </summary>
    /// <param name="jobId">The id.</param>
    /// <returns>A new record; this one is not changed.</returns>
    public HPCJobInfo WithJobId(string jobId)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var copy = (HPCJobInfo)MemberwiseClone();
        copy._jobId = jobId;
        return copy;
    }

    /// <summary>
    /// Which attempt this is: 1 for a job as first submitted; under a retry policy
    /// (Submit-CcatJob -RetryOn), the number of the latest attempt, which every cmdlet on
    /// <see cref="JobId"/> reads.
    /// </summary>
    public int Attempt => _attempt;

    /// <summary>The backend's id of the attempt this record describes (equal to <see cref="JobId"/> for attempt 1).</summary>
    public string AttemptJobId => _attemptJobId ?? JobId;

    /// <summary>The attempts before this one, oldest first (empty for attempt 1): their ids, reasons and requests.</summary>
    public IReadOnlyList<HPCJobAttempt> PreviousAttempts => _previousAttempts;

    private int _attempt = 1;
    private string? _attemptJobId;
    private IReadOnlyList<HPCJobAttempt> _previousAttempts = [];

    /// <summary>
    /// A copy of this record (an attempt's, as its backend reported it) presented as attempt
    /// <paramref name="attempt"/> of the logical job <paramref name="logicalJobId"/>.
    /// </summary>
    /// <param name="logicalJobId">The id the job keeps across attempts (the first attempt's).</param>
    /// <param name="attempt">This attempt's number.</param>
    /// <param name="previousAttempts">The attempts before it, oldest first.</param>
    /// <returns>A new record; this one is not changed.</returns>
    public HPCJobInfo WithAttempts(string logicalJobId, int attempt, IReadOnlyList<HPCJobAttempt> previousAttempts)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logicalJobId);
        var copy = (HPCJobInfo)MemberwiseClone();
        copy._attemptJobId = AttemptJobId;
        copy._jobId = logicalJobId;
        copy._attempt = attempt;
        copy._previousAttempts = previousAttempts?.ToArray() ?? [];
        return copy;
    }

    /// <summary>
    /// A copy of this record as element <paramref name="arrayIndex"/> of array
    /// <paramref name="arrayJobId"/> (ArrayJobId and ArrayIndex set, everything else kept): the
    /// latest attempt of a retried array element, which the backend ran as a job of its own.
    /// </summary>
    /// <param name="arrayJobId">The array's id.</param>
    /// <param name="arrayIndex">The element's index.</param>
    public HPCJobInfo WithArrayElement(string arrayJobId, int arrayIndex)
    {
        ArgumentException.ThrowIfNullOrEmpty(arrayJobId);
        var copy = (HPCJobInfo)MemberwiseClone();
        copy.ArrayJobId = arrayJobId;
        copy.ArrayIndex = arrayIndex;
        return copy;
    }

    /// <summary>A copy of this record with <see cref="Message"/> replaced.</summary>
    /// <param name="message">The new message.</param>
    /// <returns>A new record; this one is not changed.</returns>
    public HPCJobInfo WithMessage(string? message)
    {
        var copy = (HPCJobInfo)MemberwiseClone();
        copy.Message = message;
        return copy;
    }

    /// <summary>True once the job is completed or failed: its record will not change any more.</summary>
    public bool IsFinished => Status is HPCJobStatus.Completed or HPCJobStatus.Failed;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Backend}:{JobId} {Status}{(Reason == HPCJobReason.None ? "" : $" ({Reason})")}";
}
