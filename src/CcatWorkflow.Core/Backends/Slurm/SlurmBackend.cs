using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// The Slurm backend: sbatch scripts in a job folder on a shared file system, status from one
/// squeue and one sacct call per batch (run at the same time), cancel with one scancel for
/// many jobs, logs from the job's output files. Jobs carry <c>--comment=ccat-workflow</c> and run
/// in their own folder (<c>--chdir</c>), which is how the module recognises its jobs in sacct.
/// How requests reach the cluster is the <see cref="ISlurmTransport"/>'s business (SLURM_TRANSPORT:
/// local commands, commands over SSH, or slurmrestd); every rule stays here.
/// </summary>
public sealed partial class SlurmBackend : HPCBackend
{
    /// <summary>Ids per squeue or sacct call (long id lists make both slow or fail).</summary>
    public const int QueryChunkSize = SlurmCommandTransport.QueryChunkSize;

    /// <summary>How far back sacct looks for a job the module did not submit (it has no submit time to go by).</summary>
    public static TimeSpan ForeignJobWindow { get; } = TimeSpan.FromDays(30);

    /// <summary>How far back <see cref="ListJobsAsync"/> looks.</summary>
    public static TimeSpan ListWindow { get; } = TimeSpan.FromDays(7);

    /// <summary>How often <see cref="FollowLogsAsync"/> asks Slurm whether the job has ended (the files are read more often).</summary>
    public TimeSpan FollowStatusInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How often <see cref="FollowLogsAsync"/> reads the log files.</summary>
    public TimeSpan FollowReadInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    private readonly SlurmJobDirectory _layout;
    private readonly ConcurrentDictionary<string, HPCJobInfo> _lastKnown = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _cancelRequested = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string?> _names = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SlurmJobFolder> _folders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _stderrTails = new(StringComparer.Ordinal);
    // Ids squeue last reported pending or running: while every id asked about is one of them,
    // sacct is not asked (the controller's view is current; accounting adds nothing yet).
    private readonly ConcurrentDictionary<string, byte> _liveInSqueue = new(StringComparer.Ordinal);

    /// <summary>Creates the backend over validated options and a command runner (the CLI transport; tests pass recorded runs).</summary>
    public SlurmBackend(SlurmOptions options, ICommandRunner runner)
        : this(options, new SlurmCommandTransport(SlurmTransportKind.Cli, new SlurmCommands(runner), new LocalSlurmJobFiles(SlurmOptions.Normalized(options).JobDirectory)))
    {
    }

    /// <summary>Creates the backend over validated options and a transport.</summary>
    public SlurmBackend(SlurmOptions options, ISlurmTransport transport)
    {
        Options = SlurmOptions.Normalized(options);
        Transport = transport ?? throw new ArgumentNullException(nameof(transport));
        _layout = new SlurmJobDirectory(Options.JobDirectory);
    }

    /// <summary>Builds the backend from settings, over the transport SLURM_TRANSPORT names.</summary>
    public static SlurmBackend Create(CcatSettings settings)
    {
        var options = SlurmOptions.FromSettings(settings);
        return new SlurmBackend(options, SlurmTransports.Create(settings, options))
        {
            // SLURM_MIN_POLL_SECONDS bounds -Follow's status checks as it bounds Wait-CcatJob.
            FollowStatusInterval = TimeSpan.FromSeconds(Math.Max(3, settings.GetFloat("SLURM_MIN_POLL_SECONDS"))),
        };
    }

    /// <summary>The validated options.</summary>
    public SlurmOptions Options { get; }

    /// <summary>How requests reach the cluster.</summary>
    public ISlurmTransport Transport { get; }

    /// <summary>How many Slurm requests this instance has made (tests and the benchmark count scheduler calls with it).</summary>
    public int SchedulerCalls => Transport.SchedulerCalls;

    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Slurm;

    /// <inheritdoc />
    public override string? NormalizeJobId(string jobId) => SlurmJobId.IsValid(jobId) ? jobId : null;

    /// <inheritdoc />
    protected override string JobIdForm => "a Slurm job id (expected digits, optionally _task for an array task or +n for a component)";

    // ------------------------------------------------------------------ submit

    /// <inheritdoc />
    public override async Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        submission.Validate();
        if (submission.WorkingDirectory is { } cwd && !Directory.Exists(cwd))
        {
            // sbatch runs here, on a file system the nodes share (as SLURM_JOB_DIR must be).
            throw new CcatException(CcatErrorId.InvalidSubmission, $"WorkingDirectory '{cwd}' is not a directory on this machine.");
        }

        var now = DateTimeOffset.UtcNow;
        var folderName = SlurmJobDirectory.NewFolderName(now);
        var folder = _layout.PathOf(folderName);
        var options = Options.ForJob(submission.SchedulerOptions);
        var script = SbatchScriptBuilder.Build(submission, options, folder);
        var metadata = new SlurmJobMetadata
        {
            JobName = submission.JobName,
            SlurmJobName = SbatchScriptBuilder.SanitizeJobName(submission.JobName),
            SubmittedAt = now,
            ImageRef = submission.ImageRef,
            SifPath = submission.SifPath,
            EnvironmentNames = submission.Environment.Select(kv => kv.Key).ToList(),
            ArrayIndex = submission.ArrayIndex?.Text,
            ThrottleLimit = submission.ThrottleLimit,
            Dependency = SbatchScriptBuilder.ArrayOptions(submission).FirstOrDefault(o => o.StartsWith("--dependency=", StringComparison.Ordinal))?["--dependency=".Length..],
            SecretEnvironmentNames = submission.SecretEnvironment.Select(kv => kv.Key).ToList(),
            Cpu = submission.Resources.Cpu,
            MemoryGb = submission.Resources.MemoryGb,
            TimeHours = submission.Resources.TimeHours,
            Gpu = submission.Resources.Gpu,
            Command = submission.ExecutionCommand,
            Partition = NullIfEmpty(options.Partition),
            Account = NullIfEmpty(options.Account),
            Qos = NullIfEmpty(options.Qos),
            SchedulerOptions = submission.SchedulerOptions.Directives.Count > 0 ? options.ExtraDirectives.Skip(Options.ExtraDirectives.Count).ToList() : null,
            RetryOf = submission.RetryOf,
        };

        var id = await Transport.SubmitAsync(new SlurmSubmitRequest(folderName, folder, script, metadata,
            SbatchScriptBuilder.Directives(submission, options, folder)) { Secrets = submission.SecretEnvironment.ToList() },
            cancellationToken).ConfigureAwait(false);

        // A reused id (cluster reinstalled while this session lives) starts with a clean slate.
        _names[id] = submission.JobName;
        _folders[id] = _layout.FolderOf(id, folderName)!;
        _lastKnown.TryRemove(id, out _);
        _cancelRequested.TryRemove(id, out _);
        _liveInSqueue.TryRemove(id, out _);
        return id;
    }

    /// <inheritdoc />
    public override string DescribeSubmission(JobSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        submission.Validate();
        var folder = _layout.PathOf(SlurmJobDirectory.NewFolderName(DateTimeOffset.UtcNow));
        return SbatchScriptBuilder.Build(submission, Options.ForJob(submission.SchedulerOptions), folder);
    }

    /// <inheritdoc />
    public override IReadOnlyCollection<string> SchedulerOptionNames { get; } = ["Partition", "Account", "Qos", "SchedulerOption"];

    /// <inheritdoc />
    /// <remarks>Partitions, from one <c>sinfo</c> over the transport; nothing else is offered.</remarks>
    public override async Task<IReadOnlyList<string>> PeekSchedulerOptionValuesAsync(string optionName, CancellationToken cancellationToken) =>
        optionName == "Partition" ? await Transport.PartitionsAsync(cancellationToken).ConfigureAwait(false) : [];

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    // ------------------------------------------------------------------ status

    /// <inheritdoc />
    public override async Task<IReadOnlyList<JobQueryResult>> GetStatusesAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        var ids = jobIds.Select(i => i.Trim()).Distinct(StringComparer.Ordinal).ToList();
        var results = new Dictionary<string, JobQueryResult>(StringComparer.Ordinal);
        var valid = new List<string>();
        foreach (var id in ids)
        {
            if (SlurmJobId.IsValid(id)) valid.Add(id);
            else results[id] = new JobQueryResult(id, null, InvalidId(id));
        }

        if (valid.Count > 0)
        {
            foreach (var r in await QueryAsync(valid, cancellationToken).ConfigureAwait(false))
            {
                results[r.JobId] = r;
            }
        }

        return ids.Select(i => results[i]).ToList();
    }

    // The folders of ids, from this session's memory first (a job's folder never changes). An
    // array element lives in its array's folder: the link is the array's id.
    private async Task<Dictionary<string, SlurmJobFolder?>> FoldersAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var linkIds = ids.Select(id => ArrayElementId.ArrayOf(id) ?? id).Distinct(StringComparer.Ordinal).ToList();
        var unknown = linkIds.Where(id => !_folders.ContainsKey(id)).ToList();
        if (unknown.Count > 0)
        {
            var found = await Transport.Files.FindAsync(unknown, cancellationToken).ConfigureAwait(false);
            foreach (var (id, f) in found) _folders[id] = f;
        }

        var folders = new Dictionary<string, SlurmJobFolder?>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            folders[id] = ArrayElementId.TryParse(id, out var arrayId, out var index)
                ? (_folders.TryGetValue(arrayId, out var array) ? array with { JobId = id, ArrayIndex = index } : null)
                : _folders.GetValueOrDefault(id);
        }

        return folders;
    }

    // A job folder's metadata (job.json never changes after submission): read once per folder
    // for the backend's life, not once per status call — over SSH each read is an SFTP round
    // trip, and 200 of them cost more than the status query itself. A failed read is not kept.
    // Bounded, so a long session over many campaigns does not grow without limit.
    private SlurmJobMetadata? MetadataOf(SlurmJobFolder folder)
    {
        if (_metadata.TryGetValue(folder.Path, out var known)) return known;
        if (ReadMetadata(folder) is not { } metadata) return null;
        if (_metadata.Count > MetadataCacheLimit) _metadata.Clear();
        _metadata[folder.Path] = metadata;
        return metadata;
    }

    private SlurmJobMetadata? ReadMetadata(SlurmJobFolder folder) => SlurmJobDirectory.ParseMetadata(Transport.Files.ReadSmallText(folder.MetadataPath));

    private async Task<IReadOnlyList<JobQueryResult>> QueryAsync(List<string> ids, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var folders = await FoldersAsync(ids, cancellationToken).ConfigureAwait(false);
        var since = folders.Values.Min(f => f?.SubmittedAt ?? now - ForeignJobWindow) - SlurmStatusResolver.ClockSkew;
        var queryIds = SlurmArrayIds.QueryIds(ids).ToList();
        var names = ids.ToDictionary(id => id, id => JobNameOf(ArrayElementId.ArrayOf(id) ?? id, folders[id]), StringComparer.Ordinal);

        // While squeue last saw every id pending or running, ask it alone; sacct only for the
        // ids it no longer shows as live. Otherwise both at once.
        var allLive = ids.All(_liveInSqueue.ContainsKey);
        var query = await Transport.QueryAsync(queryIds, since, accounting: !allLive, cancellationToken).ConfigureAwait(false);
        var live = query.Live;
        var accounted = query.Accounted;
        var accountingError = query.AccountingError;
        if (allLive)
        {
            var stillLive = live.Where(r => SlurmStateMap.PhaseOf(r.State) is SlurmStatePhase.Pending or SlurmStatePhase.Running)
                .Select(r => r.JobId).ToHashSet(StringComparer.Ordinal);
            var ended = ids.Where(id => !stillLive.Contains(id)).ToList();
            if (ended.Count > 0)
            {
                try
                {
                    accounted = await Transport.AccountingAsync(ended, since, cancellationToken).ConfigureAwait(false);
                }
                catch (CcatException ex) when (ex.IsUnavailable)
                {
                    accountingError = ex;
                }
            }
        }

        foreach (var id in ids) _liveInSqueue.TryRemove(id, out _);
        foreach (var row in live)
        {
            if (SlurmStateMap.PhaseOf(row.State) is SlurmStatePhase.Pending or SlurmStatePhase.Running) _liveInSqueue[row.JobId] = 0;
        }

        accounted = ExpandArrayRecords(accounted, queryIds);
        var squeueById = new Dictionary<string, SqueueJob>(StringComparer.Ordinal);
        foreach (var row in live) squeueById.TryAdd(row.JobId, row);
        var sacctById = new Dictionary<string, SacctJob>(StringComparer.Ordinal);
        var sacctByRaw = new Dictionary<string, SacctJob>(StringComparer.Ordinal);
        foreach (var job in accounted)
        {
            sacctById.TryAdd(job.JobId, job);
            if (job.JobIdRaw is { } raw) sacctByRaw.TryAdd(raw, job);
        }

        var accountedArrays = accounted.Select(j => ArrayElementId.ArrayOf(j.JobId)).OfType<string>().ToHashSet(StringComparer.Ordinal);

        JobQueryResult ResolveOne(string id, SlurmJobFolder? folder, string? name, SacctJob? sa)
        {
            var sq = squeueById.GetValueOrDefault(id);
            var array = ArrayElementId.ArrayOf(id) ?? id;
            return SlurmStatusResolver.Resolve(new SlurmJobEvidence
            {
                JobId = id,
                Folder = folder,
                JobName = name,
                Squeue = sq is not null && SlurmStatusResolver.IsSameJob(folder, sq) ? sq : null,
                Sacct = sa is not null && SlurmStatusResolver.IsSameJob(folder, sa) ? sa : null,
                AccountingError = accountingError,
                CancelRequested = _cancelRequested.ContainsKey(id) || _cancelRequested.ContainsKey(array),
                LastKnown = _lastKnown.GetValueOrDefault(id),
                HasDependency = folder is not null && MetadataOf(folder)?.Dependency is not null,
                ArrayHasOtherRecords = array != id && accountedArrays.Contains(array),
            }, StderrTail);
        }

        var results = new List<JobQueryResult>(ids.Count);
        foreach (var id in ids)
        {
            var folder = folders[id];
            var sq = squeueById.GetValueOrDefault(id);
            var sa = sacctById.GetValueOrDefault(id);
            var tasks = sq is null && sa is null && !id.Contains('_') ? ArrayTasks(id, live, accounted, folder is null ? null : MetadataOf(folder)) : [];
            sa ??= tasks.Count == 0 ? sacctByRaw.GetValueOrDefault(id) : null; // 312 is task 306_1, but 306 is the whole array
            JobQueryResult result;
            if (tasks.Count > 0)
            {
                // Each element with what was asked (its command, resources): what -RetryFailed re-submits.
                var infos = tasks.Select(t => WithSubmission(ResolveOne(t, ElementFolder(folder, t), names[id], sacctById.GetValueOrDefault(t)), ElementFolder(folder, t))).ToList();
                foreach (var r in infos.Where(r => r.Info is not null)) _lastKnown[r.JobId] = r.Info!;
                result = infos.FirstOrDefault(r => r.Error is not null) is { } failed
                    ? new JobQueryResult(id, null, failed.Error)
                    : new JobQueryResult(id, SlurmStatusResolver.AggregateArray(id, infos.Select(r => r.Info!).ToList()), null,
                        infos.Select(r => r.Info!).OrderBy(i => i.ArrayIndex).ToList());
            }
            else
            {
                result = ResolveOne(id, folder, names[id], sa);
            }

            if (result.Info is { } info) _lastKnown[id] = info;
            results.Add(WithSubmission(result, folder));
        }

        return results;
    }

    // An element's folder is its array's, with the element's index (its own log files).
    private static SlurmJobFolder? ElementFolder(SlurmJobFolder? arrayFolder, string elementId) =>
        arrayFolder is not null && ArrayElementId.TryParse(elementId, out _, out var index)
            ? arrayFolder with { JobId = elementId, ArrayIndex = index }
            : null;

    // The elements of an array asked about by its id: every element either source lists, and
    // for an array the module submitted, every index of its spec (an element neither lists yet is pending).
    private static List<string> ArrayTasks(string parent, IReadOnlyList<SqueueJob> live, IReadOnlyList<SacctJob> accounted, SlurmJobMetadata? metadata)
    {
        var prefix = parent + "_";
        var listed = live.Select(r => r.JobId).Concat(accounted.Select(j => j.JobId))
            .Where(j => j.StartsWith(prefix, StringComparison.Ordinal) && SlurmJobId.IsValid(j));
        if (metadata?.ArrayIndex is { } spec)
        {
            listed = listed.Concat(SlurmArrayIds.Expand(parent + "_[" + spec + "]"));
        }

        return listed.Distinct(StringComparer.Ordinal).ToList();
    }

    // The name the caller gave, from the job's metadata.
    private string? JobNameOf(string id, SlurmJobFolder? folder) =>
        folder is null ? null : _names.TryGetValue(id, out var known) ? known : MetadataOf(folder) is { } m ? _names[id] = m.JobName : null;

    // The last 8 KiB of the job's stderr, where slurmstepd writes why it killed the job. Asked
    // for finished jobs only, whose stderr no longer changes: kept, so that repeated status
    // calls of many failed jobs read each file once (over SSH each read is an SFTP round trip).
    private string? StderrTail(SlurmJobFolder folder)
    {
        if (_stderrTails.TryGetValue(folder.StderrPath, out var known)) return known;
        if (Transport.Files.ReadEnd(folder.StderrPath, 8192) is not { } tail) return null;
        if (_stderrTails.Count > MetadataCacheLimit / 10) _stderrTails.Clear();
        return _stderrTails[folder.StderrPath] = tail;
    }

    // ------------------------------------------------------------------ cancel

    /// <summary>Cancels many jobs with one scancel call.</summary>
    public override async Task<IReadOnlyList<JobQueryResult>> CancelManyAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        var ids = jobIds.Select(i => i.Trim()).Distinct(StringComparer.Ordinal).ToList();
        var errors = new Dictionary<string, CcatException?>(StringComparer.Ordinal);
        var valid = new List<string>();
        foreach (var id in ids)
        {
            if (SlurmJobId.IsValid(id)) valid.Add(id);
            else errors[id] = InvalidId(id);
        }

        var unknown = new List<string>();
        if (valid.Count > 0)
        {
            var perJob = await Transport.CancelAsync(valid, cancellationToken).ConfigureAwait(false);
            var forgotten = valid.Where(id => perJob.TryGetValue(id, out var w) && w.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase)).ToList();
            var folders = forgotten.Count > 0 ? await FoldersAsync(forgotten, cancellationToken).ConfigureAwait(false) : [];
            foreach (var id in valid)
            {
                if (!perJob.TryGetValue(id, out var why))
                {
                    errors[id] = null;
                    _cancelRequested[id] = 0;
                }
                else if (why.Contains("already completing or completed", StringComparison.OrdinalIgnoreCase))
                {
                    errors[id] = null; // finished: cancelling it is not an error
                }
                else if (why.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
                {
                    // The controller has forgotten it: finished long enough ago, or never existed.
                    if (folders.GetValueOrDefault(id) is not null) errors[id] = null;
                    else unknown.Add(id);
                }
                else if (SlurmCommands.LooksUnreachable(why))
                {
                    errors[id] = new CcatException(CcatErrorId.SchedulerUnavailable, $"Slurm could not be asked to cancel job '{id}': {why}", id);
                }
                else
                {
                    errors[id] = new CcatException(CcatErrorId.CancelFailed, $"scancel could not cancel job '{id}': {why}", id);
                }
            }
        }

        if (unknown.Count > 0)
        {
            try
            {
                var known = (await Transport.AccountingAsync(unknown, DateTimeOffset.UtcNow - ForeignJobWindow, cancellationToken).ConfigureAwait(false))
                    .SelectMany(j => new[] { j.JobId, j.JobIdRaw }).ToHashSet(StringComparer.Ordinal);
                foreach (var id in unknown)
                {
                    errors[id] = known.Contains(id)
                        ? null
                        : new CcatException(CcatErrorId.JobNotFound, $"Slurm knows no job '{id}'.", id);
                }
            }
            catch (CcatException ex) when (ex.IsUnavailable)
            {
                foreach (var id in unknown) errors[id] = new CcatException(ex.ErrorId, ex.Message, id, ex);
            }
        }

        return ids.Select(id => new JobQueryResult(id, null, errors[id])).ToList();
    }

    // ------------------------------------------------------------------ logs

    /// <inheritdoc />
    public override async Task<string> GetLogsAsync(string jobId, LogQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var (stdout, stderr) = await LogPathsAsync(jobId, cancellationToken).ConfigureAwait(false);
        try
        {
            var files = Transport.Files;
            var outText = query.Stream == LogStream.Error ? "" : await files.ReadLogAsync(stdout, query.Tail, cancellationToken).ConfigureAwait(false);
            var errText = query.Stream == LogStream.Output || (query.Stream == LogStream.All && stderr == stdout)
                ? ""
                : await files.ReadLogAsync(stderr, query.Tail, cancellationToken).ConfigureAwait(false);
            if (outText.Length > 0 && errText.Length > 0 && !outText.EndsWith('\n')) outText += "\n";
            return outText + errText;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CcatException(CcatErrorId.LogUnavailable, $"Cannot read the logs of job '{jobId}': {ex.Message}", jobId, ex);
        }
    }

    /// <summary>
    /// Streams the job's output as it is written: only new bytes are read from the files, and
    /// Slurm is asked about the job every few seconds (not on every read) to know when to stop.
    /// </summary>
    public override async IAsyncEnumerable<string> FollowLogsAsync(string jobId, LogQuery query,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var (stdout, stderr) = await LogPathsAsync(jobId, cancellationToken).ConfigureAwait(false);
        var files = new List<string>();
        if (query.Stream != LogStream.Error) files.Add(stdout);
        if (query.Stream != LogStream.Output && !files.Contains(stderr)) files.Add(stderr);
        var followers = files.Select(f => Transport.Files.Follow(f, query.Tail)).ToList();
        try
        {
            var lastCheck = DateTimeOffset.MinValue;
            var finished = false;
            while (true)
            {
                var more = false;
                foreach (var f in followers)
                {
                    var chunk = await f.ReadNewAsync(cancellationToken).ConfigureAwait(false);
                    if (chunk.Length == 0) continue;
                    more = true;
                    yield return chunk;
                }

                if (finished)
                {
                    if (!more) yield break;
                    continue; // drain what the job wrote before it ended (reads are bounded in size)
                }

                if (DateTimeOffset.UtcNow - lastCheck >= FollowStatusInterval)
                {
                    lastCheck = DateTimeOffset.UtcNow;
                    finished = (await GetStatusAsync(jobId, cancellationToken).ConfigureAwait(false)).IsFinished;
                    if (finished) continue; // one last read of what the job wrote before it ended
                }

                await Task.Delay(FollowReadInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var f in followers) f.Dispose();
        }
    }

    private async Task<(string Stdout, string Stderr)> LogPathsAsync(string jobId, CancellationToken cancellationToken)
    {
        if (!SlurmJobId.IsValid(jobId)) throw InvalidId(jobId);
        if ((await FoldersAsync([jobId], cancellationToken).ConfigureAwait(false))[jobId] is { } folder)
        {
            EnsureOneJob(folder);
            return (folder.StdoutPath, folder.StderrPath);
        }

        // Not submitted through this job directory: the controller knows the paths while it holds the job.
        return await Transport.ControllerLogPathsAsync(jobId, cancellationToken).ConfigureAwait(false)
            ?? throw new CcatException(CcatErrorId.JobNotFound,
                $"No log of job '{jobId}': it was not submitted through this job directory ({Options.JobDirectory}) and the controller no longer holds it.", jobId);
    }

    // ------------------------------------------------------------------ list

    /// <inheritdoc />
    /// <remarks>The listing is one sacct call and writes nothing.</remarks>
    public override async Task<IReadOnlyList<HPCJobInfo>> PeekJobsAsync(int max, CancellationToken cancellationToken) =>
        (await ListJobsAsync(cancellationToken).ConfigureAwait(false))
            .OrderByDescending(j => j.SubmittedAt ?? DateTimeOffset.MinValue).Take(max).ToList();

    /// <inheritdoc />
    public override async Task<IReadOnlyList<HPCJobInfo>> ListJobsAsync(CancellationToken cancellationToken)
    {
        var since = DateTimeOffset.UtcNow - ListWindow;
        var accounted = await Transport.AccountingAsync(null, since, cancellationToken).ConfigureAwait(false);

        var prefix = Options.JobDirectory.TrimEnd('/') + "/";
        var ours = accounted.Where(job =>
        {
            // Ours: the tag (sacct stores the comment when the job ends, with job_comment), or
            // the working directory inside the job directory (stored at submission).
            var tagged = job.Comment == SlurmOptions.Tag;
            var inOurDirectory = job.WorkDir is { } wd && wd.StartsWith(prefix, StringComparison.Ordinal);
            return tagged || inOurDirectory;
        }).ToList();
        var folders = await FoldersAsync(ours.Select(j => j.JobId).Distinct(StringComparer.Ordinal).ToList(), cancellationToken).ConfigureAwait(false);
        var list = new List<HPCJobInfo>();
        foreach (var job in ours)
        {
            var folder = folders[job.JobId];
            if (folder is not null && !SlurmStatusResolver.IsSameJob(folder, job)) folder = null;
            var r = SlurmStatusResolver.Resolve(new SlurmJobEvidence
            {
                JobId = job.JobId,
                Folder = folder,
                JobName = JobNameOf(job.JobId, folder),
                Sacct = job,
                CancelRequested = _cancelRequested.ContainsKey(job.JobId),
            }, StderrTail);
            if (r.Info is { } info && !IsRemoved(job, folders[job.JobId])) list.Add(WithSubmission(info, folder));
        }

        // sacct's time-window listing can lag the per-id records by seconds: a job this session
        // submitted (and may already have seen finish) is asked about by id instead of left out.
        var listed = list.Select(i => i.JobId).ToHashSet(StringComparer.Ordinal);
        var missing = _names.Keys.Where(id => !listed.Contains(id) && _folders.ContainsKey(id)).ToList();
        if (missing.Count > 0)
        {
            list.AddRange((await QueryAsync(missing, cancellationToken).ConfigureAwait(false)).Where(r => r.Info is not null).Select(r => r.Info!));
        }

        return list.OrderByDescending(i => i.SubmittedAt ?? DateTimeOffset.MinValue).ToList();
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await Transport.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private static CcatException InvalidId(string id) =>
        new(CcatErrorId.InvalidJobId, $"'{id}' is not a Slurm job id (expected digits, optionally _task for an array task or +n for a component).", id);
}
