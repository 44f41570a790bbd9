using System.Collections;
using System.Management.Automation;
using CcatWorkflow.Core;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Commands;

/// <summary>
/// <para type="synopsis">Submits a containerised job to the SLURM, Kubernetes or Local backend.</para>
/// <para type="description">Submits either a whole shell command line (-ExecutionCommand, run by /bin/sh on every backend) or an in-container command with a SIF image (-ContainerCommand with -SifPath), for which the module builds the apptainer exec line of the container contract. Resources and environment variables are validated before anything is submitted. Returns an HPCJobInfo for each job.</para>
/// </summary>
/// <example>
/// <code>Submit-CcatJob -ExecutionCommand 'echo hello; exit 3' -JobName t1 | Wait-CcatJob</code>
/// <para>Runs a shell command line on the configured backend (Local by default) and waits for it; the result is failed with exit code 3.</para>
/// </example>
/// <example>
/// <code>Submit-CcatJob -SifPath /data/sif-cache/calib.sif -ContainerCommand python, /opt/calibrate.py -InputDir /data/staged/scan42 -OutputDir /data/pipelines/p1/g1/output -ManifestPath /data/pipelines/p1/g1/config/manifest.json -Resources @{ cpu = 4; memory_gb = 16; time_hours = 2 } -Backend Slurm</code>
/// <para>Builds the apptainer exec line of the container contract (input read-only at /workflow/input, output at /workflow/output, the manifest read-only at /workflow/config/manifest.json) and submits it to SLURM with --cpus-per-task=4 --mem=16G --time=02:00:00.</para>
/// </example>
/// <example>
/// <code>$scans = Submit-CcatJob -Backend Slurm -ArrayIndex 0-99 -ThrottleLimit 20 -ExecutionCommand 'reduce --scan "$CCAT_ARRAY_INDEX"'; Submit-CcatJob -Backend Slurm -DependsOn $scans -ExecutionCommand 'combine /data/out'</code>
/// <para>Submits a 100-element job array (one sbatch call, at most 20 elements running; one HPCJobInfo per element, JobId &lt;array&gt;_&lt;index&gt;), then a combining job that starts once every element completed. If an element fails, the combining job reads failed with reason DependencyNeverSatisfied.</para>
/// </example>
/// <example>
/// <code>$job = Submit-CcatJob -ExecutionCommand 'echo hello' -JobName hello -AsJob; Receive-Job $job -Wait</code>
/// <para>Submits the job and returns a PowerShell job (CcatJob) that follows it; Receive-Job -Wait writes the job's log lines (hello) and its final HPCJobInfo when it ends. Get-Job, Wait-Job and Stop-Job work on it, also from a new session after Import-Module CcatWorkflow.</para>
/// </example>
/// <example>
/// <code>Submit-CcatJob -RetryFailed $scans[0].ArrayJobId -Resources @{ memory_gb = 32 }</code>
/// <para>Re-runs only the failed elements of the array: a new array over exactly their indices, with the original command and job name, here with more memory. Each new element's Message names the element it re-runs.</para>
/// </example>
/// <example>
/// <code>Import-Csv steps.csv | Submit-CcatJob -Backend Slurm -WhatIf</code>
/// <para>Shows, for each row (columns ExecutionCommand, JobName, ...), exactly what would be submitted (the sbatch script), without submitting anything.</para>
/// </example>
[Cmdlet(VerbsLifecycle.Submit, "CcatJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = CommandSet, HelpUri = HelpLinks.Online)]
[OutputType(typeof(HPCJobInfo))]
[OutputType(typeof(Jobs.CcatJob))]
public sealed class SubmitCcatJobCommand : CcatCmdlet
{
    private const string CommandSet = "ExecutionCommand";
    private const string ContainerSet = "Container";
    private const string RetrySet = "RetryFailed";

    private const int SubmitProgressId = 2;
    private const string SubmitActivity = "Submitting CcatWorkflow jobs";

    private int _submittedCount;

    // Pipeline input is submitted in batches of at most this many jobs (SubmitManyJobsAsync).
    private const int BatchSize = 64;

    // Input that took longer than this to come is submitted at once with what was gathered:
    // a slow producer's jobs start as they come, not when 64 have gathered.
    private static readonly TimeSpan SlowInput = TimeSpan.FromMilliseconds(50);

    // Nor does a steady trickle hold a gathered job longer than this (checked as input comes).
    private static readonly TimeSpan MaxGathering = TimeSpan.FromMilliseconds(250);

    private readonly List<(JobSubmission Submission, DateTimeOffset SubmittedAt)> _batch = [];
    private HPCBackend? _batchBackend;
    private long _returnedAt;

    /// <summary>The shell command line the job runs (the seed's execution_command).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = CommandSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = RetrySet)]
    [ValidateNotNullOrEmpty]
    public string ExecutionCommand { get; set; } = "";

    /// <summary>The command and its arguments to run inside the SIF image (with -SifPath).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ContainerSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] ContainerCommand { get; set; } = [];

    /// <summary>The local SIF file apptainer runs.</summary>
    [Parameter(ParameterSetName = CommandSet, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, ParameterSetName = ContainerSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? SifPath { get; set; }

    /// <summary>The registry reference of the image (docker://, oras://).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? ImageRef { get; set; }

    /// <summary>Host directory bound read-only at /workflow/input.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? InputDir { get; set; }

    /// <summary>Host directory bound at /workflow/output.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? OutputDir { get; set; }

    /// <summary>Host directory bound at /workflow/workspace.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? WorkspaceDir { get; set; }

    /// <summary>The manifest file, bound read-only at /workflow/config/manifest.json.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? ManifestPath { get; set; }

    /// <summary>Resource requirements: cpu, memory_gb, time_hours, gpu. Example: @{ cpu = 4; memory_gb = 16; time_hours = 2 }.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("ResourceRequirements")]
    [ArgumentCompleter(typeof(Completion.ResourcesCompleter))]
    public IDictionary? Resources { get; set; }

    /// <summary>Environment variables for the job. Example: @{ CALIBRATION_MODE = 'hot_cold' }.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("EnvironmentVariables")]
    public IDictionary? Environment { get; set; }

    /// <summary>
    /// Secret environment variables for the job (values: strings or SecureStrings). Their values
    /// are never written to a file, a manifest, -WhatIf or verbose output (shown as &lt;secret&gt;):
    /// Slurm gets them through sbatch's process environment, Kubernetes through a Secret, the
    /// Local runner through a pipe. SecureString values given in -Environment are secret too.
    /// Example: @{ DB_PASSWORD = (Read-Host -AsSecureString) }.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public IDictionary? SecretEnvironment { get; set; }

    /// <summary>A name for people; each backend sanitises it for its own rules.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string JobName { get; set; } = "ccat-job";

    /// <summary>The backend for this call; default: the configured HPC_BACKEND.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public HPCBackendKind? Backend { get; set; }

    /// <summary>The directory the job's command starts in (relative paths resolve against the current location). Default: the job's own folder on Local and Slurm, the image's working directory on Kubernetes. On Local and Slurm it must exist on this machine.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? WorkingDirectory { get; set; }

    /// <summary>Submit a job array, one job per index, in Slurm's syntax: '0-99', '1,3,5-9', '0-99:2'. Each element sees its index in CCAT_ARRAY_INDEX.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? ArrayIndex { get; set; }

    /// <summary>With -ArrayIndex: at most this many elements run at once.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int? ThrottleLimit { get; set; }

    /// <summary>Jobs (HPCJobInfo objects, or ids on the same backend) this job waits for; an array's id, or all its elements, means the whole array.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public object[]? DependsOn { get; set; }

    /// <summary>With -DependsOn: start after every parent completed (AfterOk, the default), after they all ended (AfterAny), or after they failed (AfterNotOk).</summary>
    [Parameter]
    public DependencyCondition DependencyCondition { get; set; } = DependencyCondition.AfterOk;

    /// <summary>Retry the job when it fails for one of these reasons (OutOfMemory, Timeout, Preempted, NodeFailure, Evicted, NonZeroExit, …). The job keeps its id; each attempt sees CCAT_ATTEMPT. With -ArrayIndex each element is retried on its own (its new attempt sees the same CCAT_ARRAY_INDEX). See docs/retries.md.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public HPCJobReason[]? RetryOn { get; set; }

    /// <summary>With -RetryOn: attempts in all, the first included (default 3, at most 20).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public int? MaxAttempts { get; set; }

    /// <summary>With -RetryOn OutOfMemory: the factor memory_gb grows by for the next attempt (default 1.5; capped by RETRY_MAX_MEMORY_GB).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public double? MemoryGrowth { get; set; }

    /// <summary>With -RetryOn Timeout: the factor time_hours grows by for the next attempt (default 2; capped by RETRY_MAX_TIME_HOURS).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public double? TimeGrowth { get; set; }

    /// <summary>The retry policy as one hashtable instead of -RetryOn/-MaxAttempts/-MemoryGrowth/-TimeGrowth. Example: @{ RetryOn = 'OutOfMemory', 'Timeout'; MaxAttempts = 3; MemoryGrowth = 1.5; TimeGrowth = 2 }.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public IDictionary? RetryPolicy { get; set; }

    /// <summary>
    /// Re-run only the failed elements of a job array: its id, or its elements (HPCJobInfo
    /// objects or element ids). Submits a new array over exactly the failed indices with the
    /// original's command, resources and job name (each unless given here), linked to the
    /// original (shown in each new element's Message, and recorded where the backend keeps records).
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = RetrySet)]
    [ValidateNotNullOrEmpty]
    public object[]? RetryFailed { get; set; }

    /// <summary>Return a PowerShell job (CcatJob) for each submitted job instead of its HPCJobInfo: its state follows the HPC job (Running, then Completed, Failed or Stopped), Receive-Job returns its log lines and then its final HPCJobInfo, Stop-Job cancels it, and Get-Job lists it (in this session and in new ones).</summary>
    [Parameter]
    public SwitchParameter AsJob { get; set; }

    /// <summary>Slurm partition for this job only (overrides SLURM_PARTITION); shown as #SBATCH --partition in -WhatIf. Letters, digits and _ . , + @ - only. Tab completes the cluster's partitions (from sinfo, when it answers quickly).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completion.SchedulerOptionCompleter))]
    public string? Partition { get; set; }

    /// <summary>Slurm account to charge for this job only (overrides SLURM_ACCOUNT); shown as #SBATCH --account in -WhatIf.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Account { get; set; }

    /// <summary>Slurm quality of service for this job only (overrides SLURM_QOS); shown as #SBATCH --qos in -WhatIf.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Qos { get; set; }

    /// <summary>Extra sbatch options for this job only, each one option on one line (checked like SLURM_EXTRA_DIRECTIVES), written as #SBATCH lines after the site's SLURM_EXTRA_DIRECTIVES. Example: '--constraint=avx2', '--nice=10'. The module's own lines (name, folder, logs, resources) still win.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? SchedulerOption { get; set; }

    /// <summary>Kubernetes namespace for this job only (overrides K8S_NAMESPACE); the job's id then carries it (namespace/name), so status, logs and removal find it from any session. Tab completes the configured namespace and those the API server lists, when it answers quickly.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completion.SchedulerOptionCompleter))]
    public string? Namespace { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        // Measured before anything of ours: how long the input took to come (see SlowInput).
        var slowInput = _returnedAt != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(_returnedAt) > SlowInput;
        try
        {
            ProcessOne(slowInput);
        }
        finally
        {
            _returnedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        }
    }

    private void ProcessOne(bool slowInput)
    {
        JobSubmission submission;
        HPCBackend? retryBackend = null;
        FailedElements? retry = null;
        try
        {
            submission = BuildSubmission();
            if (ParameterSetName == RetrySet) (retryBackend, retry, submission) = PlanRetry(submission);
        }
        catch (CcatException ex)
        {
            WriteCcatError(ex, JobName);
            return;
        }

        var backend = retryBackend ?? GetBackend(Backend);
        string description;
        try
        {
            submission = submission with { Dependency = JobDependencies.From(DependsOn, DependencyCondition, backend.Kind) };
            description = backend.PreviewSubmission(submission);
        }
        catch (CcatException ex)
        {
            WriteCcatError(ex, JobName);
            return;
        }

        var target = $"job '{submission.JobName}' on {backend.Kind}";
        if (!ShouldProcess(
                $"Submitting {target}:{System.Environment.NewLine}{description}",
                $"Submit {target}?",
                "Submit-CcatJob"))
        {
            return;
        }

        var submittedAt = DateTimeOffset.UtcNow;
        if (MyInvocation.ExpectingInput && backend.SubmitsInBatches && retry is null
            && submission is { ArrayIndex: null, Dependency: null, Retry: null })
        {
            // Many jobs through the pipeline: gathered, and submitted together (one store round
            // trip, the runners started at once) when the batch is full, the input slows down
            // or ends, or another backend's job comes.
            if (_batchBackend is not null && !ReferenceEquals(_batchBackend, backend)) FlushBatch();
            _batchBackend = backend;
            _batch.Add((submission, submittedAt));
            if (_batch.Count >= BatchSize || slowInput || DateTimeOffset.UtcNow - _batch[0].SubmittedAt > MaxGathering) FlushBatch();
            return;
        }

        FlushBatch(); // what was gathered goes first: the output keeps the input's order
        try
        {
            var ids = RunSync(ct => backend.SubmitJobsAsync(submission, ct));
            WriteSubmitted(backend, submission, ids, submittedAt, retry);
        }
        catch (CcatException ex)
        {
            WriteCcatError(ex, submission.JobName);
        }
    }

    /// <summary>Submits the gathered jobs in one call; writes each one's HPCJobInfo or its own error, in order.</summary>
    private void FlushBatch()
    {
        if (_batch.Count == 0) return;
        var items = _batch.ToList();
        var backend = _batchBackend!;
        _batch.Clear();
        _batchBackend = null;
        IReadOnlyList<SubmitOutcome> outcomes;
        try
        {
            outcomes = RunSync(ct => backend.SubmitManyJobsAsync(items.Select(i => i.Submission).ToList(), ct));
        }
        catch (CcatException ex)
        {
            foreach (var (s, _) in items) WriteCcatError(ex, s.JobName);
            return;
        }

        for (var i = 0; i < items.Count; i++)
        {
            var (s, at) = items[i];
            try
            {
                if (outcomes[i].Error is { } error) WriteCcatError(error, s.JobName);
                else WriteSubmitted(backend, s, outcomes[i].Ids!, at, null);
            }
            catch (CcatException ex)
            {
                WriteCcatError(ex, s.JobName); // -AsJob could not follow it
            }
        }
    }

    private void WriteSubmitted(HPCBackend backend, JobSubmission submission, IReadOnlyList<string> ids, DateTimeOffset submittedAt, FailedElements? retry)
    {
        foreach (var id in ids)
        {
            var element = ArrayElementId.TryParse(id, out var arrayId, out var index) && submission.ArrayIndex is not null;
            var info = new HPCJobInfo(id, backend.Kind, HPCJobStatus.Pending, submission.JobName, submittedAt: submittedAt,
                arrayJobId: element ? arrayId : null, arrayIndex: element ? index : null,
                message: retry is not null && element ? $"Re-run of {retry.ArrayId}_{index} (Submit-CcatJob -RetryFailed)." : null);
            WriteObject(AsJob ? RunSync(ct => Jobs.CcatJobTable.FollowAsync(info, backend, Settings, submission.ExecutionCommand, null, ct)) : info);
        }

        Jobs.CcatJobTable.Invalidate();
        ReportSubmitted(submission.JobName);
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        FlushBatch();
        if (_submittedCount == 0) return;
        WriteProgress(new ProgressRecord(SubmitProgressId, SubmitActivity, $"{_submittedCount} submitted") { RecordType = ProgressRecordType.Completed });
    }

    // A pipeline of many rows can take a while to submit: show how many went, not a percentage
    // (the number of rows still to come is unknown).
    private void ReportSubmitted(string jobName)
    {
        if (!MyInvocation.ExpectingInput) return;
        _submittedCount++;
        // A new record each time: hosts and runspaces keep the records they are given.
        WriteProgress(new ProgressRecord(SubmitProgressId, SubmitActivity, $"{_submittedCount} submitted; last: {jobName}"));
    }

    private JobSubmission BuildSubmission()
    {
        var resources = ResourceRequirements.FromDictionary(Unwrap(Resources));
        // A SecureString given in -Environment is a secret all the same: it is never shown or written.
        var plain = Unwrap(Environment);
        var secret = Unwrap(SecretEnvironment) ?? new System.Collections.Specialized.OrderedDictionary();
        if (plain is not null)
        {
            foreach (var key in plain.Keys.Cast<object>().Where(k => plain[k] is System.Security.SecureString).ToList())
            {
                if (!secret.Contains(key)) secret.Add(key, plain[key]);
                else throw new CcatException(CcatErrorId.InvalidEnvironmentVariable, $"Environment variable '{key}' is given both in -Environment and in -SecretEnvironment; give it once.");
                plain.Remove(key);
            }
        }

        var environment = JobSubmission.ValidateEnvironment(plain);
        var secretEnvironment = JobSubmission.ValidateEnvironment(secret);
        string command;
        if (ParameterSetName == ContainerSet)
        {
            command = ApptainerCommandBuilder.BuildCommandLine(
                Settings.GetString("APPTAINER_PATH"), FullPath(SifPath)!, ContainerCommand,
                FullPath(InputDir), FullPath(WorkspaceDir), FullPath(OutputDir), FullPath(ManifestPath));
        }
        else
        {
            command = ExecutionCommand;
        }

        var submission = new JobSubmission
        {
            ExecutionCommand = command,
            ImageRef = ImageRef,
            SifPath = FullPath(SifPath),
            InputDir = FullPath(InputDir),
            OutputDir = FullPath(OutputDir),
            WorkspaceDir = FullPath(WorkspaceDir),
            ManifestPath = FullPath(ManifestPath),
            Resources = resources,
            Environment = environment,
            SecretEnvironment = secretEnvironment,
            JobName = JobName,
            WorkingDirectory = FullPath(WorkingDirectory),
            ArrayIndex = ArrayIndex is null ? null : ArrayIndexSpec.Parse(ArrayIndex),
            ThrottleLimit = ThrottleLimit,
            Retry = BuildRetryPolicy(),
            SchedulerOptions = new JobSchedulerOptions
            {
                Partition = Partition,
                Account = Account,
                Qos = Qos,
                Directives = SchedulerOption ?? [],
                Namespace = Namespace,
            },
        };
        if (ParameterSetName != RetrySet) submission.Validate(); // a re-run is validated once it has the original's command
        return submission;
    }

    private Core.Retries.RetryPolicy? BuildRetryPolicy()
    {
        var table = Unwrap(RetryPolicy);
        if (table is not null)
        {
            // A list of reasons arrives as object[] of PSObjects: unwrap the elements too.
            foreach (var key in table.Keys.Cast<object>().ToList())
            {
                if (table[key] is object[] items) table[key] = items.Select(i => i is PSObject p ? p.BaseObject : i).ToArray();
            }
        }

        return Core.Retries.RetryPolicy.From(RetryOn, MaxAttempts, MemoryGrowth, TimeGrowth, table,
            Settings.GetFloat("RETRY_MAX_MEMORY_GB"), Settings.GetFloat("RETRY_MAX_TIME_HOURS"));
    }

    // The backend of the original array, its failed elements, and the re-run's submission.
    private (HPCBackend Backend, FailedElements Failed, JobSubmission Submission) PlanRetry(JobSubmission given)
    {
        if (ArrayIndex is not null)
        {
            throw new CcatException(CcatErrorId.InvalidArraySpec, "-RetryFailed chooses the indices itself (the failed ones): give no -ArrayIndex.");
        }

        var ids = new List<string>();
        HPCBackendKind? kind = null;
        foreach (var raw in RetryFailed ?? [])
        {
            var value = raw is PSObject ps ? ps.BaseObject : raw;
            switch (value)
            {
                case HPCJobInfo job when kind is { } k && job.Backend != k:
                    throw new CcatException(CcatErrorId.InvalidArraySpec, $"-RetryFailed re-runs the elements of one array; '{job.JobId}' is on {job.Backend}, not {k}.", job.JobId);
                case HPCJobInfo job:
                    kind = job.Backend;
                    ids.Add(job.JobId);
                    break;
                case string id when !string.IsNullOrWhiteSpace(id):
                    ids.Add(id.Trim());
                    break;
                default:
                    throw new CcatException(CcatErrorId.InvalidArraySpec, $"-RetryFailed takes an array's id or its elements (HPCJobInfo objects or ids); got '{value}'.");
            }
        }

        if (kind is { } fromJobs && Backend is { } asked && asked != fromJobs)
        {
            throw new CcatException(CcatErrorId.InvalidArraySpec, $"-RetryFailed was given {fromJobs} jobs but -Backend {asked}.");
        }

        var backend = GetBackend(kind ?? Backend);
        var distinct = ids.Distinct(StringComparer.Ordinal).ToList();
        var failed = RunSync(ct => FailedElements.FindAsync(backend, distinct, ct));
        WriteVerbose($"{backend.Kind}: array {failed.ArrayId} has {failed.Failed.Count} failed element(s): {failed.Indices.Text}");
        var submission = failed.Resubmission(given, MyInvocation.BoundParameters.ContainsKey(nameof(Resources)), MyInvocation.BoundParameters.ContainsKey(nameof(JobName)));
        submission.Validate();
        return (backend, failed, submission);
    }

    // Paths are resolved against PowerShell's location, which is not the process's.
    private string? FullPath(string? path) =>
        path is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
}
