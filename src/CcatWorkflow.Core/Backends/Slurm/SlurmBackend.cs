using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
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
/// </summary>
public sealed partial class SlurmBackend : HPCBackend
{
    /// <summary>Ids per squeue or sacct call (long id lists make both slow or fail).</summary>
    public const int QueryChunkSize = 500;

    /// <summary>How far back sacct looks for a job the module did not submit (it has no submit time to go by).</summary>
    public static TimeSpan ForeignJobWindow { get; } = TimeSpan.FromDays(30);

    /// <summary>How far back <see cref="ListJobsAsync"/> looks.</summary>
    public static TimeSpan ListWindow { get; } = TimeSpan.FromDays(7);

    /// <summary>How often <see cref="FollowLogsAsync"/> asks Slurm whether the job has ended (the files are read more often).</summary>
    public TimeSpan FollowStatusInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How often <see cref="FollowLogsAsync"/> reads the log files.</summary>
    public TimeSpan FollowReadInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    private readonly SlurmCommands _commands;
    private readonly SlurmJobDirectory _directory;
    private readonly ConcurrentDictionary<string, HPCJobInfo> _lastKnown = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _cancelRequested = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string?> _names = new(StringComparer.Ordinal);

    /// <summary>Creates the backend over validated options and a command runner (tests pass recorded runs).</summary>
    public SlurmBackend(SlurmOptions options, ICommandRunner runner)
    {
        Options = SlurmOptions.Validated(options);
        _commands = new SlurmCommands(runner);
        _directory = new SlurmJobDirectory(Options.JobDirectory);
    }

    /// <summary>Builds the backend from settings.</summary>
    public static SlurmBackend Create(CcatSettings settings) =>
        new(SlurmOptions.FromSettings(settings), CliWrapCommandRunner.Instance);

    /// <summary>The validated options.</summary>
    public SlurmOptions Options { get; }

    /// <summary>How many Slurm commands this instance has run (tests and the benchmark count scheduler calls with it).</summary>
    public int SchedulerCalls => _commands.CommandsRun;

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
        var folder = _directory.PathOf(folderName);
        var script = SbatchScriptBuilder.Build(submission, Options, folder);
        _directory.Prepare(folderName, script, new SlurmJobMetadata
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
        });

        CommandResult result;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Once sbatch runs, it is not interrupted (Ctrl+C included): Slurm may already have
            // accepted the job, and killing sbatch then would leave a job whose folder we delete.
            // sbatch's own timeout bounds the wait.
            result = await _commands.RunAsync("sbatch", ["--parsable", Path.Combine(folder, SlurmJobDirectory.ScriptFile)],
                SlurmCommands.SubmitEnvironment(SbatchScriptBuilder.Directives(submission, Options, folder), submission.SecretEnvironment),
                SlurmCommands.SubmitTimeout, CancellationToken.None).ConfigureAwait(false);
        }
        catch (CcatException ex) when (ex.InnerException is TimeoutException)
        {
            // Unknown whether Slurm accepted the job: keep its folder so a job that does run can
            // write its logs, and say exactly that.
            throw new CcatException(CcatErrorId.SchedulerUnavailable,
                $"{ex.Message} The job may or may not have been submitted — Get-CcatJob -Backend Slurm lists it if it was. Its folder is kept: {folder}", innerException: ex);
        }
        catch
        {
            SlurmJobDirectory.TryDelete(folder);
            throw;
        }

        var id = result.Succeeded ? SlurmJobId.ParseSbatchOutput(result.StandardOutput) : null;
        if (id is null)
        {
            SlurmJobDirectory.TryDelete(folder);
            var message = SlurmCommands.FirstLines(result.StandardError, result.StandardOutput);
            if (!result.Succeeded && SlurmCommands.LooksUnreachable(result.StandardError))
            {
                throw new CcatException(CcatErrorId.SchedulerUnavailable, $"Slurm could not be asked to run the job: {message}");
            }

            throw new CcatException(CcatErrorId.SubmissionRejected, result.Succeeded
                ? $"sbatch printed no job id: {message}"
                : $"sbatch refused the job: {message}");
        }

        try
        {
            _directory.Link(id, folderName);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The job exists and runs; only the by-id link is missing. Status still works
            // through squeue/sacct, logs through scontrol while the controller knows the job.
        }

        // A reused id (cluster reinstalled while this session lives) starts with a clean slate.
        _names[id] = submission.JobName;
        _lastKnown.TryRemove(id, out _);
        _cancelRequested.TryRemove(id, out _);
        return id;
    }

    /// <inheritdoc />
    public override string DescribeSubmission(JobSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        submission.Validate();
        var folder = _directory.PathOf(SlurmJobDirectory.NewFolderName(DateTimeOffset.UtcNow));
        return SbatchScriptBuilder.Build(submission, Options, folder);
    }

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

    private async Task<IReadOnlyList<JobQueryResult>> QueryAsync(List<string> ids, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var folders = ids.ToDictionary(id => id, _directory.Find, StringComparer.Ordinal);
        var since = folders.Values.Min(f => f?.SubmittedAt ?? now - ForeignJobWindow) - SlurmStatusResolver.ClockSkew;
        var queryIds = SlurmArrayIds.QueryIds(ids).ToList();
        var metadata = new Dictionary<string, SlurmJobMetadata?>(StringComparer.Ordinal);

        // squeue (controller) and sacct (database) are independent: ask both at once.
        var squeueTask = SqueueAsync(queryIds, cancellationToken);
        var sacctTask = SacctAsync(queryIds, since, cancellationToken);
        var names = ids.ToDictionary(id => id, id => JobNameOf(ArrayElementId.ArrayOf(id) ?? id, folders[id]), StringComparer.Ordinal);

        IReadOnlyList<SqueueJob> live;
        try
        {
            live = await squeueTask.ConfigureAwait(false);
        }
        catch
        {
            await Observe(sacctTask).ConfigureAwait(false);
            throw;
        }

        IReadOnlyList<SacctJob> accounted = [];
        CcatException? accountingError = null;
        try
        {
            accounted = await sacctTask.ConfigureAwait(false);
        }
        catch (CcatException ex) when (ex.ErrorId == CcatErrorId.SchedulerUnavailable)
        {
            accountingError = ex;
        }

        accounted = ExpandArrayRecords(accounted, queryIds, metadata);
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
                HasDependency = folder is not null && MetadataOf(folder, metadata)?.Dependency is not null,
                ArrayHasOtherRecords = array != id && accountedArrays.Contains(array),
            }, StderrTail);
        }

        var results = new List<JobQueryResult>(ids.Count);
        foreach (var id in ids)
        {
            var folder = folders[id];
            var sq = squeueById.GetValueOrDefault(id);
            var sa = sacctById.GetValueOrDefault(id);
            var tasks = sq is null && sa is null && !id.Contains('_') ? ArrayTasks(id, live, accounted, folder is null ? null : MetadataOf(folder, metadata)) : [];
            sa ??= tasks.Count == 0 ? sacctByRaw.GetValueOrDefault(id) : null; // 312 is task 306_1, but 306 is the whole array
            JobQueryResult result;
            if (tasks.Count > 0)
            {
                var infos = tasks.Select(t => ResolveOne(t, _directory.Find(t), names[id], sacctById.GetValueOrDefault(t))).ToList();
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
            results.Add(result);
        }

        return results;
    }

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

    private static async Task Observe(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Its sibling's error is the one reported.
        }
    }

    private async Task<IReadOnlyList<SqueueJob>> SqueueAsync(List<string> ids, CancellationToken cancellationToken)
    {
        var rows = new List<SqueueJob>();
        foreach (var chunk in ids.Chunk(QueryChunkSize))
        {
            var result = await _commands.RunAsync("squeue",
                ["--noheader", "--array", "--states=all", "--format=" + SqueueParser.Format, "--jobs=" + string.Join(',', chunk)],
                SlurmCommands.QueryEnvironment(), SlurmCommands.QueryTimeout, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                // A single id the controller has purged: "Invalid job id specified", exit 1. Not an outage.
                if (result.StandardError.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase)) continue;
                throw SlurmCommands.Unavailable("squeue", result);
            }

            rows.AddRange(SqueueParser.Parse(result.StandardOutput));
        }

        return rows;
    }

    private async Task<IReadOnlyList<SacctJob>> SacctAsync(List<string> ids, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var jobs = new List<SacctJob>();
        foreach (var chunk in ids.Chunk(QueryChunkSize))
        {
            var result = await _commands.RunAsync("sacct",
                ["--parsable2", "--noheader", "--allusers", "--format=" + SacctParser.Format,
                    "--starttime=" + SlurmTime.FormatQueryTime(since), "--jobs=" + string.Join(',', chunk)],
                SlurmCommands.QueryEnvironment(), SlurmCommands.QueryTimeout, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded) throw SlurmCommands.Unavailable("sacct", result);
            jobs.AddRange(SacctParser.Parse(result.StandardOutput));
        }

        return jobs;
    }

    // The name the caller gave; read once per job from its metadata (small JSON, no reflection).
    private string? JobNameOf(string id, SlurmJobFolder? folder)
    {
        if (folder is null) return null;
        return _names.GetOrAdd(id, _ =>
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder.Path, SlurmJobDirectory.MetadataFile)));
                return doc.RootElement.TryGetProperty("jobName", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
            {
                return null;
            }
        });
    }

    // The last 8 KiB of the job's stderr, where slurmstepd writes why it killed the job.
    private static string? StderrTail(SlurmJobFolder folder)
    {
        try
        {
            using var fs = new FileStream(folder.StderrPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = (int)Math.Min(fs.Length, 8192);
            fs.Seek(-length, SeekOrigin.End);
            var buffer = new byte[length];
            fs.ReadExactly(buffer);
            return Encoding.UTF8.GetString(buffer);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // ------------------------------------------------------------------ cancel

    [GeneratedRegex(@"Kill job error on job id (\S+): (.+)$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex KillError();

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
            // scancel 22.05 exits 0 even when it could not cancel; --verbose makes it name each
            // job it could not ("Kill job error on job id N: <why>").
            var result = await _commands.RunAsync("scancel", ["--verbose", .. valid],
                SlurmCommands.QueryEnvironment(), SlurmCommands.QueryTimeout, cancellationToken).ConfigureAwait(false);
            var perJob = KillError().Matches(result.StandardError)
                .GroupBy(m => m.Groups[1].Value, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Last().Groups[2].Value.Trim(), StringComparer.Ordinal);
            // The controller could not be asked at all: either no per-job answer and a failure,
            // or "Unable to contact slurm controller" for every job.
            var unreachable = valid.All(id => perJob.TryGetValue(id, out var w) && SlurmCommands.LooksUnreachable(w));
            if (unreachable || (perJob.Count == 0 && !result.Succeeded))
            {
                throw unreachable || SlurmCommands.LooksUnreachable(result.StandardError)
                    ? SlurmCommands.Unavailable("scancel", result)
                    : new CcatException(CcatErrorId.CancelFailed, $"scancel failed: {SlurmCommands.FirstLines(result.StandardError, result.StandardOutput)}");
            }

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
                    if (_directory.Find(id) is not null) errors[id] = null;
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
                var known = (await SacctAsync(unknown, DateTimeOffset.UtcNow - ForeignJobWindow, cancellationToken).ConfigureAwait(false))
                    .SelectMany(j => new[] { j.JobId, j.JobIdRaw }).ToHashSet(StringComparer.Ordinal);
                foreach (var id in unknown)
                {
                    errors[id] = known.Contains(id)
                        ? null
                        : new CcatException(CcatErrorId.JobNotFound, $"Slurm knows no job '{id}'.", id);
                }
            }
            catch (CcatException ex) when (ex.ErrorId == CcatErrorId.SchedulerUnavailable)
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
            var outText = query.Stream == LogStream.Error ? "" : await LogText.ReadFileAsync(stdout, query.Tail, cancellationToken).ConfigureAwait(false);
            var errText = query.Stream == LogStream.Output || (query.Stream == LogStream.All && stderr == stdout)
                ? ""
                : await LogText.ReadFileAsync(stderr, query.Tail, cancellationToken).ConfigureAwait(false);
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
        var followers = files.Select(f => new LogFollower(f, query.Tail)).ToList();
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
        if (_directory.Find(jobId) is { } folder)
        {
            EnsureOneJob(folder);
            return (folder.StdoutPath, folder.StderrPath);
        }

        // Not submitted through this job directory: the controller knows the paths while it holds the job.
        var result = await _commands.RunAsync("scontrol", ["show", "job", "--oneliner", jobId],
            SlurmCommands.QueryEnvironment(), SlurmCommands.QueryTimeout, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            if (result.StandardError.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
            {
                throw new CcatException(CcatErrorId.JobNotFound,
                    $"No log of job '{jobId}': it was not submitted through this job directory ({Options.JobDirectory}) and the controller no longer holds it.", jobId);
            }

            throw SlurmCommands.Unavailable("scontrol", result);
        }

        var fields = result.StandardOutput.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var outPath = fields.FirstOrDefault(f => f.StartsWith("StdOut=", StringComparison.Ordinal))?["StdOut=".Length..];
        var errPath = fields.FirstOrDefault(f => f.StartsWith("StdErr=", StringComparison.Ordinal))?["StdErr=".Length..];
        if (outPath is null) throw new CcatException(CcatErrorId.LogUnavailable, $"Slurm does not say where job '{jobId}' writes its output.", jobId);
        return (outPath.Trim(), (errPath ?? outPath).Trim());
    }

    // ------------------------------------------------------------------ list

    /// <inheritdoc />
    /// <inheritdoc />
    /// <remarks>The listing is one sacct call and writes nothing.</remarks>
    public override async Task<IReadOnlyList<HPCJobInfo>> PeekJobsAsync(int max, CancellationToken cancellationToken) =>
        (await ListJobsAsync(cancellationToken).ConfigureAwait(false))
            .OrderByDescending(j => j.SubmittedAt ?? DateTimeOffset.MinValue).Take(max).ToList();

    /// <inheritdoc />
    public override async Task<IReadOnlyList<HPCJobInfo>> ListJobsAsync(CancellationToken cancellationToken)
    {
        var since = DateTimeOffset.UtcNow - ListWindow;
        var result = await _commands.RunAsync("sacct",
            ["--parsable2", "--noheader", "--format=" + SacctParser.Format, "--starttime=" + SlurmTime.FormatQueryTime(since)],
            SlurmCommands.QueryEnvironment(), SlurmCommands.QueryTimeout, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded) throw SlurmCommands.Unavailable("sacct", result);

        var prefix = Options.JobDirectory.TrimEnd('/') + "/";
        var list = new List<HPCJobInfo>();
        foreach (var job in SacctParser.Parse(result.StandardOutput))
        {
            // Ours: the tag (sacct stores the comment when the job ends, with job_comment), or
            // the working directory inside the job directory (stored at submission).
            var tagged = job.Comment == SlurmOptions.Tag;
            var inOurDirectory = job.WorkDir is { } wd && wd.StartsWith(prefix, StringComparison.Ordinal);
            if (!tagged && !inOurDirectory) continue;
            var folder = _directory.Find(job.JobId);
            if (folder is not null && !SlurmStatusResolver.IsSameJob(folder, job)) folder = null;
            var r = SlurmStatusResolver.Resolve(new SlurmJobEvidence
            {
                JobId = job.JobId,
                Folder = folder,
                JobName = JobNameOf(job.JobId, folder),
                Sacct = job,
                CancelRequested = _cancelRequested.ContainsKey(job.JobId),
            }, StderrTail);
            if (r.Info is { } info) list.Add(info);
        }

        return list.OrderByDescending(i => i.SubmittedAt ?? DateTimeOffset.MinValue).ToList();
    }

    private static CcatException InvalidId(string id) =>
        new(CcatErrorId.InvalidJobId, $"'{id}' is not a Slurm job id (expected digits, optionally _task for an array task or +n for a component).", id);
}
