using System.Runtime.CompilerServices;
using System.Text;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// The Local backend: each job is <c>/bin/sh -c &lt;command&gt;</c> on this machine, watched by
/// its own runner process (<c>CcatWorkflow.LocalRunner</c>) that outlives the submitting
/// session, measures the job (exit code, wall time, CPU of the whole process tree, peak memory)
/// and records the result in the job's directory and in the job store. Any later process — and,
/// with the Redis store and a shared <c>LOCAL_JOB_DIR</c>, any host — can read, wait for and
/// cancel the job. The design and the files are described in docs/local-backend.md.
/// </summary>
public sealed partial class LocalBackend : HPCBackend
{
    private readonly LocalBackendOptions _options;
    private readonly ILocalJobStore _store;
    private readonly RunnerLauncher _launcher;
    private readonly LocalJobInspector _inspector;

    internal LocalBackend(LocalBackendOptions options, ILocalJobStore? store = null)
    {
        _options = options;
        var raw = store ?? options.Store.CreateStore();
        _store = new LoggedJobStore(raw);
        _retryLedger = CreateRetryLedger(raw, options);
        _launcher = new RunnerLauncher(options);
        _inspector = new LocalJobInspector(options, _store);
    }

    /// <summary>Builds the backend from settings. Connects to nothing yet: the store is opened on first use.</summary>
    public static LocalBackend Create(CcatSettings settings) => new(LocalBackendOptions.FromSettings(settings));

    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Local;

    /// <summary>
    /// Which runner Local submissions start on this machine under <paramref name="settings"/>
    /// (LOCAL_RUNNER and what is installed): "native", "managed", or "none" with what was looked for.
    /// </summary>
    public static LocalRunnerDescription DescribeRunner(CcatSettings settings)
    {
        LocalBackendOptions options;
        try
        {
            options = LocalBackendOptions.FromSettings(settings);
        }
        catch (CcatException e)
        {
            return new LocalRunnerDescription("unknown", e.Message); // the Local settings are invalid: the message says why
        }

        return new RunnerLauncher(options).Choose() is { } runner
            ? new LocalRunnerDescription(runner.Kind, runner.Program)
            : new LocalRunnerDescription("none", options.RunnerMode == LocalRunnerMode.Managed
                ? $"{RunnerLauncher.RunnerFileName} and a dotnet host"
                : options.NativeRunnerPath ?? LocalRunnerProgram.DefaultNativePath());
    }

    /// <summary>
    /// Which cgroups Local jobs get on this machine (shown as LOCAL_CGROUP_IN_USE): "v1 pids+memory+cpu",
    /// "v2 memory+cpu" … or "none" (memory_gb is then sampled, not enforced by the kernel, and cpu not limited), and where.
    /// </summary>
    public static LocalRunnerDescription DescribeCgroups()
    {
        var (kind, location) = JobCgroup.Describe();
        return new LocalRunnerDescription(kind, location);
    }

    /// <inheritdoc />
    public override string? NormalizeJobId(string jobId) => Canonical(jobId);

    /// <inheritdoc />
    protected override string JobIdForm => "a Local job id (a UUID such as 0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90)";

    internal ILocalJobStore Store => _store;

    /// <inheritdoc />
    /// <remarks>
    /// Above the default: the status of a few thousand Local jobs stays one batch read of the
    /// store (one pipelined round trip with Redis, a few MB of replies at most); a finished job
    /// then costs nothing more (<see cref="LocalJobInspector.InspectAsync"/>).
    /// </remarks>
    protected override int MaxBatch => 10_000;

    internal LocalBackendOptions Options => _options;

    // ------------------------------------------------------------------ submit

    /// <inheritdoc />
    public override async Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
    {
        var outcome = (await SubmitManyAsync([submission], cancellationToken).ConfigureAwait(false))[0];
        if (outcome.Error is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        return outcome.Ids![0];
    }

    /// <inheritdoc />
    public override bool SubmitsInBatches => true;

    /// <summary>
    /// Submits plain jobs together: each job's folder and job.json first, then every record in
    /// one store call (one round trip on Redis), then every runner started at once and waited
    /// for together. Each job keeps the single submission's guarantee on its own: it started
    /// and says so, or it provably did not and is rolled back (folder and record) — a failure
    /// of one never touches another.
    /// </summary>
    protected override async Task<IReadOnlyList<SubmitOutcome>> SubmitManyAsync(IReadOnlyList<JobSubmission> submissions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submissions);
        var outcomes = new SubmitOutcome?[submissions.Count];
        var made = new List<(int Slot, LocalJobSpec Spec, LocalJobDirectory Dir)>();
        for (var i = 0; i < submissions.Count; i++)
        {
            try
            {
                var (spec, dir) = MakeFolder(submissions[i]);
                made.Add((i, spec, dir));
            }
            catch (CcatException e)
            {
                outcomes[i] = SubmitOutcome.Failed(e);
            }
        }

        var refused = await CreateRecordsAsync(made, cancellationToken).ConfigureAwait(false);
        var starts = new List<Task<SubmitOutcome>>(made.Count);
        var slots = new List<int>(made.Count);
        for (var k = 0; k < made.Count; k++)
        {
            if (refused[k] is { } error)
            {
                outcomes[made[k].Slot] = SubmitOutcome.Failed(error);
                continue;
            }

            slots.Add(made[k].Slot);
            starts.Add(StartAsync(made[k].Spec.Id, made[k].Dir, submissions[made[k].Slot].SecretEnvironment, cancellationToken));
        }

        // Each start settles its own job (started, or rolled back) before this returns or throws.
        var started = await Task.WhenAll(starts).ConfigureAwait(false);
        for (var k = 0; k < slots.Count; k++) outcomes[slots[k]] = started[k];
        return outcomes.Select(o => o!).ToList();
    }

    /// <summary>The job's id, spec and folder with job.json in it (0700/0600); nothing is left behind when it fails.</summary>
    private (LocalJobSpec Spec, LocalJobDirectory Dir) MakeFolder(JobSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        submission.Validate();
        if (submission.WorkingDirectory is { } cwd && !Directory.Exists(cwd))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission, $"WorkingDirectory '{cwd}' is not a directory on this machine.");
        }

        var id = Guid.NewGuid().ToString("D");
        var spec = BuildSpec(submission, id, DateTimeOffset.UtcNow);
        var dir = _inspector.DirectoryOf(id);

        try
        {
            // 0700 for every folder made here (the default tree under ~/.local/state too) and
            // 0600 for every file: other users of the machine read nothing (docs/security.md).
            SafeFile.CreatePrivateDirectory(_options.JobRoot);
            SafeFile.CreateDirectory0700(dir.Path);
            dir.WriteSpec(spec);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RemoveDirectory(dir);
            throw new CcatException(CcatErrorId.StoreUnavailable, $"Cannot create the job directory {dir.Path}: {e.Message}", null, e);
        }

        return (spec, dir);
    }

    /// <summary>
    /// The records of the new jobs, in one store call; per job null (made) or its error, its
    /// folder then removed. The whole call failing is every job's error. A cancelled call
    /// removes every folder and throws.
    /// </summary>
    private async Task<CcatException?[]> CreateRecordsAsync(List<(int Slot, LocalJobSpec Spec, LocalJobDirectory Dir)> made, CancellationToken cancellationToken)
    {
        var errors = new CcatException?[made.Count];
        if (made.Count == 0) return errors;
        try
        {
            var drafts = made.Select(m => new LocalRecordDraft(m.Spec.Id, LocalJobRecord.ForSubmission(m.Spec, m.Dir.Path), m.Spec.SubmittedAt)).ToList();
            var refused = await _store.CreateManyAsync(drafts, cancellationToken).ConfigureAwait(false);
            for (var k = 0; k < made.Count; k++) errors[k] = refused[k];
        }
        catch (CcatException e)
        {
            Array.Fill(errors, e);
        }
        catch (Exception)
        {
            foreach (var m in made) RemoveDirectory(m.Dir);
            throw;
        }

        for (var k = 0; k < made.Count; k++)
        {
            // A reader may have found this folder first (a slow submission, past the launch
            // grace) and rebuilt the record from it: that record is this submission's; go on.
            if (errors[k] is null || await IsHealedFromAsync(made[k].Spec.Id, made[k].Dir, cancellationToken).ConfigureAwait(false))
            {
                errors[k] = null;
                continue;
            }

            RemoveDirectory(made[k].Dir);
        }

        return errors;
    }

    /// <summary>Starts the job's runner and waits for its report; a job that provably never started is rolled back.</summary>
    private async Task<SubmitOutcome> StartAsync(string id, LocalJobDirectory dir, IReadOnlyList<KeyValuePair<string, string>> secrets, CancellationToken cancellationToken)
    {
        try
        {
            await _launcher.StartAsync(dir, secrets, cancellationToken).ConfigureAwait(false);
            return SubmitOutcome.Submitted([id]);
        }
        catch (Exception e) when (!e.Data.Contains(RunnerLauncher.JobStartedKey))
        {
            // Nothing half-submitted: the job provably never started (the launcher has ended
            // whatever it started). A job that did start is never rolled back: its error says so.
            try
            {
                await _store.DeleteAsync(id, CancellationToken.None).ConfigureAwait(false);
            }
            catch (CcatException)
            {
                // a record without a directory reads as not visible; nothing better to do
            }

            RemoveDirectory(dir);
            if (e is CcatException c) return SubmitOutcome.Failed(c);
            throw;
        }
        catch (CcatException e)
        {
            return SubmitOutcome.Failed(e); // it had started and was ended: the message says so
        }
    }

    /// <inheritdoc />
    public override string DescribeSubmission(JobSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        submission.Validate();
        var spec = BuildSpec(submission, "<job-id>", DateTimeOffset.UtcNow);
        var jobDir = Path.Combine(_options.JobRoot, "<job-id>");
        var sb = new StringBuilder();
        sb.Append("# Local job '").Append(spec.Name).Append("', tracked in the ").Append(_store.Description).Append('\n');
        sb.Append("# job directory: ").Append(jobDir).Append(" (stdout.log, stderr.log, result.json)\n");
        sb.Append("# runner: ").Append(ShellQuoting.Join(_launcher.RunnerArgv(jobDir)))
            .Append(" (").Append(_launcher.Choose()?.Kind ?? "none installed").Append(", detached, own session)\n");
        sb.Append("# working directory: ").Append(spec.WorkingDirectory).Append('\n');
        if (spec.TimeHours is { } h) sb.Append("# time limit: ").Append(h.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(" h\n");
        if (spec.MemoryGb is { } m) sb.Append("# memory limit: ").Append(m.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(" GiB\n");
        sb.Append("# environment: the submitting process's, plus:\n");
        foreach (var v in spec.Environment)
        {
            // Not every name can be exported by a shell; the runner sets it directly either way.
            sb.Append(ShellQuoting.IsShellIdentifier(v.Name) ? "export " + v.Name + "=" + ShellQuoting.Quote(v.Value) : "# " + ShellQuoting.Quote(v.Name + "=" + v.Value)).Append('\n');
        }

        foreach (var name in spec.SecretEnvironmentNames)
        {
            // The value goes to the runner over a pipe, never into a file or onto the screen.
            sb.Append("# secret (passed to the runner over its stdin): ").Append(ShellQuoting.Quote(name)).Append('=').Append(JobSubmission.SecretPlaceholder).Append('\n');
        }

        sb.Append(DescribeCampaign(submission));
        sb.Append("/bin/sh -c ").Append(ShellQuoting.Quote(spec.Command)).Append('\n');
        return sb.ToString();
    }

    private LocalJobSpec BuildSpec(JobSubmission s, string id, DateTimeOffset now)
    {
        var env = s.EffectiveEnvironment.Select(kv => new LocalEnvironmentVariable(kv.Key, kv.Value)).ToList();

        return new LocalJobSpec
        {
            Id = id,
            Name = s.JobName,
            Command = s.ExecutionCommand,
            Environment = env,
            SecretEnvironmentNames = s.SecretEnvironment.Select(kv => kv.Key).ToList(),
            // -WorkingDirectory, else the job's own directory (as on Slurm): the same for every
            // submitter (pwsh's location is not its process's working directory anyway).
            WorkingDirectory = s.WorkingDirectory ?? Path.Combine(_options.JobRoot, id),
            SubmittedAt = now,
            SubmitHost = Environment.MachineName,
            SubmitBootId = ProcFs.BootId,
            SubmitPidNamespace = ProcFs.PidNamespace,
            CancelGraceSeconds = _options.CancelGrace.TotalSeconds,
            Cpu = s.Resources.Cpu,
            MemoryGb = s.Resources.MemoryGb,
            TimeHours = s.Resources.TimeHours,
            Gpu = s.Resources.Gpu,
            SifPath = s.SifPath,
            ImageRef = s.ImageRef,
            InputDir = s.InputDir,
            OutputDir = s.OutputDir,
            WorkspaceDir = s.WorkspaceDir,
            ManifestPath = s.ManifestPath,
            ArrayIndex = s.ArrayIndex?.Text,
            ThrottleLimit = s.ArrayIndex is null ? null : s.ThrottleLimit,
            DependsOn = s.Dependency?.ParentIds,
            DependencyCondition = s.Dependency?.Condition.ToString(),
            RetryOf = s.RetryOf,
        };
    }

    private static void RemoveDirectory(LocalJobDirectory dir)
    {
        try
        {
            if (dir.Exists) Directory.Delete(dir.Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a leftover directory without a record is invisible to every cmdlet
        }
    }

    // ------------------------------------------------------------------ status

    /// <inheritdoc />
    public override async Task<IReadOnlyList<HPCJobInfo>> ListJobsAsync(CancellationToken cancellationToken)
    {
        // Runners this process started are its children: any look at the jobs reaps the ended
        // ones, so a killed or finished runner is not left a zombie until the next submission.
        RunnerLauncher.ReapExited();
        var ids = await _store.ListAsync(cancellationToken).ConfigureAwait(false);
        var extra = _options.Store.IsRedis ? FoldersNotIn(ids) : [];
        var infos = new List<HPCJobInfo>(ids.Count + extra.Count);
        foreach (var chunk in ids.Concat(extra).Chunk(MaxBatch))
        {
            var results = await GetStatusesAsync(chunk, cancellationToken).ConfigureAwait(false);
            // An array lists as its elements (each also has a record of its own once started).
            infos.AddRange(results.SelectMany(r => r.Elements ?? (r.Info is { } i ? [i] : [])));
        }

        infos = infos.DistinctBy(i => i.JobId, StringComparer.Ordinal).ToList();

        // Jobs found again from their folders join in submission order (newest first).
        return extra.Count == 0 ? infos : infos.OrderByDescending(i => i.SubmittedAt).ToList();
    }

    /// <summary>
    /// The store's records of these jobs; where the store has none but the job's folder is
    /// there (a Redis that lost its data), the record is rebuilt from the folder — the folder is
    /// the truth — and the store healed with it.
    /// </summary>
    /// <remarks>
    /// With the file store one unreadable record (a symlink, a FIFO, garbage) is that job's
    /// error alone: the batch is then read job by job. Redis errors are the store's, for all.
    /// </remarks>
    private async Task<(IReadOnlyDictionary<string, string>? Record, CcatException? Error)[]> RecordsAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var records = new (IReadOnlyDictionary<string, string>? Record, CcatException? Error)[ids.Count];
        try
        {
            var batch = await _store.GetManyAsync(ids, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < ids.Count; i++) records[i] = (batch[i], null);
        }
        catch (CcatException) when (!_options.Store.IsRedis && ids.Count > 1)
        {
            for (var i = 0; i < ids.Count; i++)
            {
                try
                {
                    records[i] = ((await _store.GetManyAsync([ids[i]], cancellationToken).ConfigureAwait(false))[0], null);
                }
                catch (CcatException e)
                {
                    records[i] = (null, e);
                }
            }
        }

        for (var i = 0; i < ids.Count; i++)
        {
            if (records[i] is { Record: null, Error: null })
            {
                records[i] = (await RecoverFromFolderAsync(ids[i], cancellationToken).ConfigureAwait(false), null);
            }
        }

        return records;
    }

    /// <summary>One job's record (null: none), or its error thrown.</summary>
    private async Task<IReadOnlyDictionary<string, string>?> RecordAsync(string id, CancellationToken cancellationToken)
    {
        var (record, error) = (await RecordsAsync([id], cancellationToken).ConfigureAwait(false))[0];
        return error is null ? record : throw error;
    }

    // True when the store already holds a record of this id rebuilt from this very folder.
    private async Task<bool> IsHealedFromAsync(string id, LocalJobDirectory dir, CancellationToken cancellationToken)
    {
        try
        {
            var existing = (await _store.GetManyAsync([id], cancellationToken).ConfigureAwait(false))[0];
            return existing is not null && existing.TryGetValue(LocalJobRecord.JobDir, out var path) && path == dir.Path;
        }
        catch (CcatException)
        {
            return false;
        }
    }

    private async Task<IReadOnlyDictionary<string, string>?> RecoverFromFolderAsync(string id, CancellationToken cancellationToken)
    {
        var dir = _inspector.DirectoryOf(id);
        Dictionary<string, string> fields;
        LocalJobSpec spec;
        try
        {
            if (!dir.Exists || dir.TryReadSpec() is not { } s || s.Id != id) return null;
            spec = s;
            var runner = dir.TryReadRunner();
            var result = dir.TryReadResult();
            // A folder with neither is a submission still under way (or being rolled back): its
            // submitter makes the record, or removes the folder.
            if (runner is null && result is null && DateTimeOffset.UtcNow - spec.SubmittedAt < _options.LaunchGrace) return null;
            fields = LocalJobRecord.ForSubmission(spec, dir.Path);
            if (runner is not null) Merge(fields, LocalJobRecord.ForRunning(runner));
            if (result is not null) Merge(fields, LocalJobRecord.ForResult(result));
        }
        catch (Exception e) when (e is CcatException or IOException or UnauthorizedAccessException)
        {
            return null;
        }

        try
        {
            await _store.CreateAsync(id, fields, spec.SubmittedAt, cancellationToken).ConfigureAwait(false);
        }
        catch (CcatException)
        {
            // made meanwhile by another reader, or the store is down: the folder stays the truth
        }

        return fields;

        static void Merge(Dictionary<string, string> into, Dictionary<string, string> from)
        {
            foreach (var (k, v) in from) into[k] = v;
        }
    }

    /// <summary>Job folders (UUID names) under LOCAL_JOB_DIR that the store does not list.</summary>
    private List<string> FoldersNotIn(IReadOnlyList<string> listed)
    {
        var known = listed.ToHashSet(StringComparer.Ordinal);
        try
        {
            if (!Directory.Exists(_options.JobRoot)) return [];
            return Directory.EnumerateDirectories(_options.JobRoot)
                .Select(d => Canonical(Path.GetFileName(d)))
                .OfType<string>()
                .Where(id => !known.Contains(id))
                .ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <inheritdoc />
    /// <remarks>The store's records as they are: no runner is inspected, no job declared lost.</remarks>
    public override async Task<IReadOnlyList<HPCJobInfo>> PeekJobsAsync(int max, CancellationToken cancellationToken)
    {
        var ids = (await _store.ListAsync(cancellationToken).ConfigureAwait(false)).Take(max).ToList();
        var records = await _store.GetManyAsync(ids, cancellationToken).ConfigureAwait(false);
        return ids.Zip(records)
            .Where(p => p.Second is not null)
            .Select(p => new LocalJobRecord(p.Second!))
            .Select(r => new HPCJobInfo(r.Get(LocalJobRecord.Id) ?? "?", HPCBackendKind.Local, r.StatusValue ?? HPCJobStatus.Pending,
                r.Get(LocalJobRecord.Name), reason: LocalJobRecord.ParseReason(r.Get(LocalJobRecord.Reason)),
                submittedAt: r.Time(LocalJobRecord.SubmittedAt)))
            .Where(i => i.JobId != "?")
            .ToList();
    }

    // ------------------------------------------------------------------ cancel

    /// <summary>
    /// Cancels many jobs at once: every cancel marker is written first, then all jobs are waited
    /// for together, so a hundred jobs take one grace period, not a hundred. Finished jobs are
    /// left alone (not an error). Returns when each job has ended, or — for a job whose runner is
    /// on another host or not started yet — when the marker is in place and the wait ran out.
    /// </summary>
    public override async Task<IReadOnlyList<JobQueryResult>> CancelManyAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        // Runners this process started are its children: any look at the jobs reaps the ended
        // ones, so a killed or finished runner is not left a zombie until the next submission.
        RunnerLauncher.ReapExited();
        var statuses = await GetStatusesAsync(jobIds, cancellationToken).ConfigureAwait(false);
        var results = new JobQueryResult[statuses.Count];
        var waits = new List<Task>();
        for (var i = 0; i < statuses.Count; i++)
        {
            var s = statuses[i];
            if (s.Error is not null || s.Info is not { IsFinished: false } info)
            {
                results[i] = new JobQueryResult(s.JobId, null, s.Error);
                continue;
            }

            var request = new LocalCancelRequest
            {
                RequestedAt = DateTimeOffset.UtcNow,
                Host = Environment.MachineName,
                Pid = Environment.ProcessId,
                GraceSeconds = _options.CancelGrace.TotalSeconds,
            };

            // An array's id means all its elements: the array runner starts none of the rest.
            var targets = s.Elements is { } elements ? elements.Where(e => !e.IsFinished).ToList() : [info];
            var dirs = new List<(string Id, LocalJobDirectory Dir)>();
            CcatException? refused = null;
            try
            {
                if (s.Elements is not null) _inspector.DirectoryOf(info.JobId).RequestCancel(request);
                foreach (var t in targets)
                {
                    var dir = _inspector.DirectoryOf(t.JobId);
                    if (t is { ArrayJobId: { } arrayId, ArrayIndex: { } index }) RequestElementCancel(_inspector.DirectoryOf(arrayId), dir, index, request);
                    else dir.RequestCancel(request);
                    dirs.Add((t.JobId, dir));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                refused = new CcatException(CcatErrorId.CancelFailed, $"Cannot leave the cancel request of job {info.JobId}: {e.Message}", info.JobId, e);
            }

            if (refused is not null)
            {
                results[i] = new JobQueryResult(s.JobId, null, refused);
                continue;
            }

            var slot = i;
            waits.Add(Task.Run(async () =>
            {
                var errors = await Task.WhenAll(dirs.Select(d => WaitCancelledAsync(d.Id, d.Dir, cancellationToken))).ConfigureAwait(false);
                results[slot] = new JobQueryResult(s.JobId, null, errors.FirstOrDefault(e => e is not null));
            }, cancellationToken));
        }

        await Task.WhenAll(waits).ConfigureAwait(false);
        return results;
    }

    private async Task<CcatException?> WaitCancelledAsync(string id, LocalJobDirectory dir, CancellationToken cancellationToken)
    {
        if (await WaitForResultAsync(dir, _options.CancelGrace + _options.CancelSlack, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        // The runner did not end the job in time. Where it can be checked (this machine): a dead
        // runner makes the job lost (and its leftovers are ended); a live but unresponsive one
        // is bypassed and the job's processes — those proven to be its own — are ended from here.
        var runner = dir.TryReadRunner();
        if (runner is null || !runner.IsOnThisMachine())
        {
            return null; // not started yet, or on another host: its runner acts on the marker
        }

        if (dir.ProbeLock() == RunnerLockState.Held)
        {
            var report = await JobSessionKiller.EndAsync(dir, _options.CancelGrace, cancellationToken, spare: runner.RunnerPid).ConfigureAwait(false);
            if (report.Survivors > 0)
            {
                return new CcatException(CcatErrorId.CancelFailed, $"Job {id} still has processes after TERM and KILL. {report.Describe()}", id);
            }

            await WaitForResultAsync(dir, _options.CancelSlack, cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (await RecordAsync(id, cancellationToken).ConfigureAwait(false) is { } fields)
        {
            await _inspector.InspectAsync(id, new LocalJobRecord(fields), cancellationToken).ConfigureAwait(false);
        }

        return null;
    }

    private static async Task<bool> WaitForResultAsync(LocalJobDirectory dir, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!dir.HasResult)
        {
            if (DateTime.UtcNow >= deadline) return false;
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    // ------------------------------------------------------------------ logs

    /// <inheritdoc />
    public override async Task<string> GetLogsAsync(string jobId, LogQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var dir = await ExistingDirectoryAsync(jobId, cancellationToken).ConfigureAwait(false);
        try
        {
            var parts = new List<string>();
            foreach (var path in LogPaths(dir, query.Stream))
            {
                parts.Add(await LogText.ReadFileAsync(path, query.Tail, cancellationToken).ConfigureAwait(false));
            }

            return JoinStreams(parts);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CcatException(CcatErrorId.LogUnavailable, $"The logs of job {Path.GetFileName(dir.Path)} cannot be read: {e.Message}", Path.GetFileName(dir.Path), e);
        }
    }

    /// <summary>
    /// Tails the job's log files until the job has ended: each new piece of text is returned as
    /// it is written (stdout and stderr each in order; their interleaving is not recorded).
    /// Ends after the last bytes written before the result was recorded.
    /// </summary>
    public override async IAsyncEnumerable<string> FollowLogsAsync(string jobId, LogQuery query,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var dir = await ExistingDirectoryAsync(jobId, cancellationToken).ConfigureAwait(false);
        var id = Path.GetFileName(dir.Path);
        var followers = LogPaths(dir, query.Stream).Select(p => new LogFollower(p, query.Tail)).ToList();
        var lastStatus = DateTime.UtcNow;
        try
        {
            while (true)
            {
                // Looked at before reading: everything written before the result is then read.
                var finished = dir.HasResult;
                if (!finished && DateTime.UtcNow - lastStatus > TimeSpan.FromSeconds(2))
                {
                    // A job can end without result.json (lost, seen from another host).
                    lastStatus = DateTime.UtcNow;
                    finished = (await GetStatusAsync(id, cancellationToken).ConfigureAwait(false)).IsFinished;
                }

                bool more;
                do
                {
                    more = false;
                    foreach (var f in followers)
                    {
                        var text = await f.ReadNewAsync(cancellationToken).ConfigureAwait(false);
                        if (text.Length == 0) continue;
                        more = true;
                        yield return text;
                    }
                }
                while (more && finished); // after the end, drain whatever is left

                if (finished) yield break;
                await Task.Delay(250, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var f in followers) f.Dispose();
        }
    }

    private async Task<LocalJobDirectory> ExistingDirectoryAsync(string jobId, CancellationToken cancellationToken)
    {
        var id = Canonical(jobId) ?? throw InvalidId(jobId);
        if (await RecordAsync(id, cancellationToken).ConfigureAwait(false) is not { } record) throw NotFound(id);
        if (IsArrayRecord(record))
        {
            throw new CcatException(CcatErrorId.InvalidJobId,
                $"'{id}' is a job array ({record[LocalJobRecord.ArrayIndex]}); logs are per element: ask for one, for example '{id}_{(IndicesOf(record) is [var first, ..] ? first : 0)}'.", id);
        }

        var dir = _inspector.DirectoryOf(id);
        if (!dir.Exists)
        {
            throw new CcatException(CcatErrorId.LogUnavailable, $"The job directory {dir.Path} of job {id} is not visible here.", id);
        }

        return dir;
    }

    private static IEnumerable<string> LogPaths(LocalJobDirectory dir, LogStream stream) => stream switch
    {
        LogStream.Output => [dir.StdoutPath],
        LogStream.Error => [dir.StderrPath],
        _ => [dir.StdoutPath, dir.StderrPath],
    };

    private static string JoinStreams(List<string> parts)
    {
        var sb = new StringBuilder();
        foreach (var p in parts.Where(p => p.Length > 0))
        {
            if (sb.Length > 0 && sb[^1] != '\n') sb.Append('\n');
            sb.Append(p);
        }

        return sb.ToString();
    }

    // ------------------------------------------------------------------ ids, lifetime

    /// <summary>The canonical (lower-case "D") form of a job id, or null when it is not a UUID.</summary>
    internal static string? Canonical(string? jobId) =>
        Arrays.ArrayElementId.TryParse(jobId, out var array, out var index)
            ? (CanonicalUuid(array) is { } a ? Arrays.ArrayElementId.Format(a, index) : null)
            : CanonicalUuid(jobId);

    private static string? CanonicalUuid(string? jobId) =>
        jobId is not null && jobId.Length == 36 && Guid.TryParseExact(jobId, "D", out var g) ? g.ToString("D") : null;

    private static CcatException InvalidId(string given) =>
        new(CcatErrorId.InvalidJobId, $"'{given}' is not a Local job id (a UUID such as 0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90, or <uuid>_<index> for an array element).", given);

    private static CcatException NotFound(string id) =>
        new(CcatErrorId.JobNotFound, $"The Local backend has no job {id}.", id);

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
