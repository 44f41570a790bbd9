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
public sealed class LocalBackend : HPCBackend
{
    private readonly LocalBackendOptions _options;
    private readonly ILocalJobStore _store;
    private readonly RunnerLauncher _launcher;
    private readonly LocalJobInspector _inspector;

    internal LocalBackend(LocalBackendOptions options, ILocalJobStore? store = null)
    {
        _options = options;
        _store = store ?? options.Store.CreateStore();
        _launcher = new RunnerLauncher(options);
        _inspector = new LocalJobInspector(options, _store);
    }

    /// <summary>The settings this backend depends on (a change rebuilds it).</summary>
    public static IReadOnlyList<string> SettingNames { get; } =
    [
        "LOCAL_JOB_STORE", "LOCAL_JOB_DIR", "LOCAL_CANCEL_GRACE_SECONDS",
        "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB", "REDIS_KEY_PREFIX",
        "LOCAL_RUNNER",
    ];

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

    /// <inheritdoc />
    public override string? NormalizeJobId(string jobId) => Canonical(jobId);

    /// <inheritdoc />
    protected override string JobIdForm => "a Local job id (a UUID such as 0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90)";

    internal ILocalJobStore Store => _store;

    internal LocalBackendOptions Options => _options;

    // ------------------------------------------------------------------ submit

    /// <inheritdoc />
    public override async Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
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
            Directory.CreateDirectory(_options.JobRoot);
            Directory.CreateDirectory(dir.Path);
            dir.WriteSpec(spec);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RemoveDirectory(dir);
            throw new CcatException(CcatErrorId.StoreUnavailable, $"Cannot create the job directory {dir.Path}: {e.Message}", null, e);
        }

        try
        {
            await _store.CreateAsync(id, LocalJobRecord.ForSubmission(spec, dir.Path), spec.SubmittedAt, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            RemoveDirectory(dir);
            throw;
        }

        try
        {
            await _launcher.StartAsync(dir, submission.SecretEnvironment, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Nothing half-submitted: the launcher has ended whatever it started.
            try
            {
                await _store.DeleteAsync(id, CancellationToken.None).ConfigureAwait(false);
            }
            catch (CcatException)
            {
                // a record without a directory reads as not visible; nothing better to do
            }

            RemoveDirectory(dir);
            throw;
        }

        return id;
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
    public override async Task<IReadOnlyList<JobQueryResult>> GetStatusesAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        var asked = jobIds.Distinct(StringComparer.Ordinal).ToList();
        var canonical = asked.Select(Canonical).ToList();
        var lookup = canonical.OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var records = await _store.GetManyAsync(lookup, cancellationToken).ConfigureAwait(false);
        var byId = new Dictionary<string, IReadOnlyDictionary<string, string>?>(StringComparer.Ordinal);
        for (var i = 0; i < lookup.Count; i++) byId[lookup[i]] = records[i];

        var results = new List<JobQueryResult>(asked.Count);
        for (var i = 0; i < asked.Count; i++)
        {
            var given = asked[i];
            if (canonical[i] is not { } id)
            {
                results.Add(new JobQueryResult(given, null, InvalidId(given)));
                continue;
            }

            if (byId[id] is not { } fields)
            {
                results.Add(new JobQueryResult(given, null, NotFound(id)));
                continue;
            }

            try
            {
                var info = await _inspector.InspectAsync(id, new LocalJobRecord(fields), cancellationToken).ConfigureAwait(false);
                results.Add(new JobQueryResult(given, info, null));
            }
            catch (CcatException e)
            {
                results.Add(new JobQueryResult(given, null, e));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                results.Add(new JobQueryResult(given, null,
                    new CcatException(CcatErrorId.StoreUnavailable, $"The files of job {id} cannot be read: {e.Message}", id, e)));
            }
        }

        return results;
    }

    /// <inheritdoc />
    public override async Task<IReadOnlyList<HPCJobInfo>> ListJobsAsync(CancellationToken cancellationToken)
    {
        var ids = await _store.ListAsync(cancellationToken).ConfigureAwait(false);
        var infos = new List<HPCJobInfo>(ids.Count);
        foreach (var chunk in ids.Chunk(500))
        {
            var results = await GetStatusesAsync(chunk, cancellationToken).ConfigureAwait(false);
            infos.AddRange(results.Select(r => r.Info).OfType<HPCJobInfo>());
        }

        return infos;
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

            var dir = _inspector.DirectoryOf(info.JobId);
            try
            {
                dir.RequestCancel(new LocalCancelRequest
                {
                    RequestedAt = DateTimeOffset.UtcNow,
                    Host = Environment.MachineName,
                    Pid = Environment.ProcessId,
                    GraceSeconds = _options.CancelGrace.TotalSeconds,
                });
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                results[i] = new JobQueryResult(s.JobId, null,
                    new CcatException(CcatErrorId.CancelFailed, $"Cannot leave the cancel request in {dir.Path}: {e.Message}", info.JobId, e));
                continue;
            }

            var index = i;
            waits.Add(Task.Run(async () =>
            {
                var error = await WaitCancelledAsync(info.JobId, dir, cancellationToken).ConfigureAwait(false);
                results[index] = new JobQueryResult(s.JobId, null, error);
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
        // is bypassed and the job's session is ended from here.
        var runner = dir.TryReadRunner();
        if (runner is null || !runner.IsOnThisMachine())
        {
            return null; // not started yet, or on another host: its runner acts on the marker
        }

        if (ProcFs.IsAlive(runner.RunnerPid, runner.RunnerStartTicks))
        {
            var ended = await JobSessionKiller.EndAsync(id, runner, _options.CancelGrace, cancellationToken).ConfigureAwait(false);
            if (!ended)
            {
                return new CcatException(CcatErrorId.CancelFailed, $"Job {id} still has processes after TERM and KILL.", id);
            }

            await WaitForResultAsync(dir, _options.CancelSlack, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var records = await _store.GetManyAsync([id], cancellationToken).ConfigureAwait(false);
        if (records[0] is { } fields)
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
        var records = await _store.GetManyAsync([id], cancellationToken).ConfigureAwait(false);
        if (records[0] is null) throw NotFound(id);
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
        jobId is not null && jobId.Length == 36 && Guid.TryParseExact(jobId, "D", out var g) ? g.ToString("D") : null;

    private static CcatException InvalidId(string given) =>
        new(CcatErrorId.InvalidJobId, $"'{given}' is not a Local job id (a UUID such as 0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90).", given);

    private static CcatException NotFound(string id) =>
        new(CcatErrorId.JobNotFound, $"The Local backend has no job {id}.", id);

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
