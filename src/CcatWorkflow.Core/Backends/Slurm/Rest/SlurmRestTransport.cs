using System.Collections.Concurrent;
using System.Globalization;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>
/// The REST transport: slurmrestd instead of Slurm's commands. Status is one <c>GET /jobs</c> of
/// the controller (squeue's view) and one <c>GET /slurmdb/…/jobs?step=…</c> of accounting
/// (sacct's), asked at once; cancel is one <c>DELETE</c> per job; submission sends the script and
/// its options as job properties. REST has no file access: the job folders are reached by the
/// SSH transport's SFTP or a shared folder (<see cref="ISlurmJobFiles"/>). Two 22.05 traps are
/// handled here: slurmdb reports a normal exit as 0 whatever its code (the true code comes from
/// the controller's record, else the job folder's exit file, see <see cref="SlurmRestLauncher"/>),
/// and a refused token reads as a server error (see <see cref="SlurmRestClient"/>).
/// </summary>
public sealed class SlurmRestTransport : ISlurmTransport
{
    /// <summary>DELETE requests in flight at once when cancelling many jobs.</summary>
    public const int CancelParallelism = 8;

    private readonly SlurmRestClient _client;
    private readonly IAsyncDisposable? _owned;
    private readonly Func<DateTimeOffset> _clock;
    // Exit codes the controller reported for ended jobs (slurmdb's are wrong on 22.05): kept for
    // the session, since the controller forgets a job MinJobAge seconds after its end.
    private readonly ConcurrentDictionary<string, SlurmExitCode> _controllerExit = new(StringComparer.Ordinal);

    /// <summary>Creates the transport.</summary>
    /// <param name="client">The slurmrestd client.</param>
    /// <param name="files">The job folders (SFTP, a shared folder, or none).</param>
    /// <param name="owned">What else to dispose with the transport (the SSH connection of the files and tokens).</param>
    /// <param name="clock">The time (tests move it).</param>
    public SlurmRestTransport(SlurmRestClient client, ISlurmJobFiles files, IAsyncDisposable? owned = null, Func<DateTimeOffset>? clock = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        Files = files ?? throw new ArgumentNullException(nameof(files));
        _owned = owned;
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
    }

    /// <inheritdoc />
    public SlurmTransportKind Kind => SlurmTransportKind.Rest;

    /// <inheritdoc />
    public int SchedulerCalls => _client.Requests;

    /// <inheritdoc />
    public ISlurmJobFiles Files { get; }

    /// <summary>The slurmrestd client.</summary>
    public SlurmRestClient Client => _client;

    // ------------------------------------------------------------------ submit

    /// <inheritdoc />
    public async Task<string> SubmitAsync(SlurmSubmitRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Options without a job property are refused before a folder exists.
        var properties = SlurmRestJobProperties.From(request.Directives, request.Secrets);
        await Files.PrepareAsync(request.FolderName, request.Script, request.Metadata, cancellationToken).ConfigureAwait(false);
        SlurmRestAnswer<SlurmApi.SubmitResponse> answer;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Once sent, the request is not interrupted (Ctrl+C included): slurmctld may already
            // have accepted the job. The client's own deadline bounds the wait.
            answer = await _client.SendAsync(HttpMethod.Post, SlurmRestFamily.Slurm, "job/submit",
                new SlurmApi.SubmitRequest { Script = SlurmRestLauncher.Build(request.Folder), Job = properties },
                SlurmRestJson.Context.SubmitResponse, CancellationToken.None).ConfigureAwait(false);
        }
        catch (CcatException ex) when (ex.InnerException is TimeoutException)
        {
            throw new CcatException(ex.ErrorId,
                $"{ex.Message} The job may or may not have been submitted — Get-CcatJob -Backend Slurm lists it if it was. Its folder is kept: {request.Folder}", innerException: ex);
        }
        catch
        {
            await Files.DeleteAsync(request.Folder, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        if (answer.Body?.JobId is not { } id || id <= 0 || !answer.IsSuccess || answer.Errors.Count > 0)
        {
            await Files.DeleteAsync(request.Folder, CancellationToken.None).ConfigureAwait(false);
            if (IsCommunicationFailure(answer.Errors) || answer.Errors.Count == 0) throw _client.ServerError(answer, "submit the job");
            throw new CcatException(CcatErrorId.SubmissionRejected,
                $"slurmrestd refused the job (HTTP {(int)answer.Status}): {SlurmRestClient.Describe(answer.Errors, "")}");
        }

        var jobId = id.ToString(CultureInfo.InvariantCulture);
        try
        {
            await Files.LinkAsync(jobId, request.FolderName, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CcatException)
        {
            // The job exists and runs; only the by-id link is missing (status works without it).
        }

        return jobId;
    }

    // ------------------------------------------------------------------ status

    /// <inheritdoc />
    public async Task<SlurmQueryResult> QueryAsync(IReadOnlyList<string> ids, DateTimeOffset since, bool accounting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        // The controller and accounting are independent: asked at once.
        var live = LiveAsync(ids, cancellationToken);
        var accounted = accounting ? AccountingCoreAsync(ids, since, cancellationToken) : Task.FromResult<IReadOnlyList<SacctJob>>([]);
        try
        {
            await Task.WhenAll(live, accounted).ConfigureAwait(false);
        }
        catch
        {
            // Each task's own outcome is read below.
        }

        var rows = await live.ConfigureAwait(false);
        try
        {
            // Exit codes are fixed with the controller's words once both answers are in.
            return new SlurmQueryResult(rows, FixExitCodes(await accounted.ConfigureAwait(false)), null);
        }
        catch (CcatException ex) when (ex.IsUnavailable)
        {
            return new SlurmQueryResult(rows, [], ex);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SacctJob>> AccountingAsync(IReadOnlyList<string>? ids, DateTimeOffset since, CancellationToken cancellationToken) =>
        FixExitCodes(await AccountingCoreAsync(ids, since, cancellationToken).ConfigureAwait(false));

    private async Task<IReadOnlyList<SqueueJob>> LiveAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var answer = await _client.SendAsync(HttpMethod.Get, SlurmRestFamily.Slurm, "jobs", null, SlurmRestJson.Context.JobsResponse, cancellationToken).ConfigureAwait(false);
        if (!answer.IsSuccess || answer.Errors.Count > 0) throw _client.ServerError(answer, "list the controller's jobs");
        var wanted = ids.ToHashSet(StringComparer.Ordinal);
        var rows = new List<SqueueJob>();
        foreach (var job in answer.Body?.Jobs ?? [])
        {
            foreach (var row in ToSqueue(job, _clock()))
            {
                var raw = job.JobId?.ToString(CultureInfo.InvariantCulture);
                if (!wanted.Contains(row.JobId) && !(ArrayElementId.ArrayOf(row.JobId) is { } array && wanted.Contains(array))
                    && !(raw is not null && wanted.Contains(raw))) continue;
                rows.Add(row);
                if (job.ExitCode is { } status && SlurmStateMap.PhaseOf(row.State) == SlurmStatePhase.Terminal)
                {
                    _controllerExit[row.JobId] = FromWaitStatus(status);
                }
            }
        }

        return rows;
    }

    private async Task<IReadOnlyList<SacctJob>> AccountingCoreAsync(IReadOnlyList<string>? ids, DateTimeOffset since, CancellationToken cancellationToken)
    {
        // slurmrestd reads times in its own zone: a day's margin covers any zone difference. A ':'
        // must be escaped in the query (22.05 answers "Unable to parse query" otherwise).
        var from = "start_time=" + Uri.EscapeDataString(FormatTime(since - TimeSpan.FromDays(1)));
        var queries = ids is null
            ? [$"jobs?{from}&end_time={Uri.EscapeDataString(FormatTime(_clock() + TimeSpan.FromDays(1)))}"]
            : ids.Chunk(SlurmCommandTransport.QueryChunkSize).Select(c => $"jobs?step={string.Join("%2C", c)}&{from}").ToList();
        var answers = await Task.WhenAll(queries.Select(q =>
            _client.SendAsync(HttpMethod.Get, SlurmRestFamily.SlurmDb, q, null, SlurmRestJson.Context.DbJobsResponse, cancellationToken))).ConfigureAwait(false);
        var jobs = new List<SacctJob>();
        foreach (var answer in answers)
        {
            // 9003 "Nothing found with query" is an empty answer, not a failure.
            if (!answer.IsSuccess || answer.Errors.Any(e => e.Number != 9003)) throw _client.ServerError(answer, "read the accounting records");
            foreach (var job in answer.Body?.Jobs ?? []) jobs.AddRange(ToSacct(job));
        }

        return jobs;
    }

    // The controller's exit code where slurmdb dropped it, else the job folder's exit file.
    private List<SacctJob> FixExitCodes(IReadOnlyList<SacctJob> jobs) =>
        jobs.Select(j => j.ExitCode is { Code: 0, Signal: 0 } && SlurmStateMap.Normalize(j.State) is not ("COMPLETED" or "PENDING" or "RUNNING")
                ? j with { ExitCode = TrueExitCode(j) ?? j.ExitCode }
                : j)
            .ToList();

    private SlurmExitCode? TrueExitCode(SacctJob job)
    {
        if (_controllerExit.TryGetValue(job.JobId, out var live)) return live;
        if (job.WorkDir is not { } folder || !folder.StartsWith(Files.Root.TrimEnd('/') + "/", StringComparison.Ordinal)) return null;
        var index = ArrayElementId.TryParse(job.JobId, out _, out var i) ? i : (long?)null;
        return SlurmRestLauncher.ParseExitFile(Files.ReadSmallText(SlurmJobFolder.Join(folder, SlurmRestLauncher.ExitFileOf(index)))) is { } code
            ? new SlurmExitCode(code, 0)
            : null;
    }

    // ------------------------------------------------------------------ cancel

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, string>> CancelAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var why = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var unreachable = 0;
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = CancelParallelism, CancellationToken = cancellationToken }, async (id, ct) =>
        {
            var answer = await _client.SendAsync(HttpMethod.Delete, SlurmRestFamily.Slurm, "job/" + Uri.EscapeDataString(id), null,
                SlurmRestJson.Context.ErrorsOnly, ct).ConfigureAwait(false);
            if (answer.IsSuccess && answer.Errors.Count == 0) return;
            if (IsCommunicationFailure(answer.Errors) || answer.Errors.Count == 0) Interlocked.Increment(ref unreachable);
            why[id] = SlurmRestClient.Describe(answer.Errors, $"HTTP {(int)answer.Status}");
        }).ConfigureAwait(false);
        if (ids.Count > 0 && unreachable == ids.Count)
        {
            throw new CcatException(CcatErrorId.SlurmRestServerError, $"slurmrestd could not cancel any job: {why.Values.First()}");
        }

        return why;
    }

    /// <inheritdoc />
    public async Task<(string Stdout, string Stderr)?> ControllerLogPathsAsync(string jobId, CancellationToken cancellationToken)
    {
        var answer = await _client.SendAsync(HttpMethod.Get, SlurmRestFamily.Slurm, "job/" + Uri.EscapeDataString(jobId), null,
            SlurmRestJson.Context.JobsResponse, cancellationToken).ConfigureAwait(false);
        if (answer.Errors.Any(e => e.Number == 2017)) return null; // "Invalid job id specified": purged
        if (!answer.IsSuccess || answer.Errors.Count > 0) throw _client.ServerError(answer, $"read job '{jobId}'");
        var job = answer.Body?.Jobs is { Count: > 0 } listed ? listed[0] : null;
        if (job is null) return null;
        var cwd = job.CurrentWorkingDirectory ?? "/";
        string Expand(string? pattern, string fallback)
        {
            var p = string.IsNullOrEmpty(pattern) ? fallback : pattern;
            var path = SlurmFilePattern.Expand(p, job);
            return path.StartsWith('/') ? path : SlurmJobFolder.Join(cwd, path);
        }

        var stdout = Expand(job.StandardOutput, job.ArrayJobId is > 0 ? "slurm-%A_%a.out" : "slurm-%j.out");
        return (stdout, string.IsNullOrEmpty(job.StandardError) ? stdout : Expand(job.StandardError, ""));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        if (_owned is not null) await _owned.DisposeAsync().ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ shapes

    /// <summary>A controller record as squeue's rows (one per element of a still-pending array range).</summary>
    public static IReadOnlyList<SqueueJob> ToSqueue(SlurmApi.Job job, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.JobId is not { } raw) return [];
        var id = raw.ToString(CultureInfo.InvariantCulture);
        if (job.ArrayJobId is > 0 and var arrayId)
        {
            var array = arrayId.ToString(CultureInfo.InvariantCulture);
            id = job.ArrayTaskId is { } task && task >= 0 ? $"{array}_{task.ToString(CultureInfo.InvariantCulture)}"
                : !string.IsNullOrEmpty(job.ArrayTaskString) ? $"{array}_[{job.ArrayTaskString}]"
                : id;
        }

        var state = job.JobState ?? "UNKNOWN";
        var start = Epoch(job.StartTime);
        var end = Epoch(job.EndTime);
        var phase = SlurmStateMap.PhaseOf(state);
        TimeSpan? used = phase == SlurmStatePhase.Pending || start is null ? null
            : ((phase == SlurmStatePhase.Running ? now : end ?? now) - start.Value) is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero;
        return SlurmArrayIds.Expand(id).Select(element => new SqueueJob(element, state,
            string.IsNullOrEmpty(job.StateReason) ? null : job.StateReason, used, Epoch(job.SubmitTime), start,
            string.IsNullOrEmpty(job.CurrentWorkingDirectory) ? null : job.CurrentWorkingDirectory, job.Name ?? "")).ToList();
    }

    /// <summary>
    /// An accounting record as sacct's (steps folded in): TotalCPU is the steps' <c>time.total</c>,
    /// MaxRSS the largest <c>tres.requested.max</c> of type mem (bytes). The exit code is as slurmdb
    /// says it (see <see cref="SlurmDbApi.DbJob.ExitCode"/>); the transport corrects it.
    /// </summary>
    public static IReadOnlyList<SacctJob> ToSacct(SlurmDbApi.DbJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.JobId is not { } raw) return [];
        var rawId = raw.ToString(CultureInfo.InvariantCulture);
        var id = rawId;
        if (job.Array?.JobId is > 0 and var arrayId)
        {
            var array = arrayId.ToString(CultureInfo.InvariantCulture);
            id = job.Array.TaskId is { } task && task >= 0 ? $"{array}_{task.ToString(CultureInfo.InvariantCulture)}"
                : !string.IsNullOrEmpty(job.Array.Task) ? $"{array}_[{job.Array.Task}]"
                : id;
        }

        var steps = job.Steps ?? [];
        var stepCpu = steps.Select(s => s.Time?.Total?.ToTimeSpan()).Where(t => t is not null).ToList();
        var ownCpu = job.Time?.Total?.ToTimeSpan();
        long? maxRss = null;
        foreach (var s in steps)
        {
            foreach (var t in s.Tres?.Requested?.Max ?? [])
            {
                if (t.Type == "mem" && t.Count is { } c && (maxRss is null || c > maxRss)) maxRss = c;
            }
        }

        var allocCpus = job.Tres?.Allocated?.FirstOrDefault(t => t.Type == "cpu")?.Count;
        var state = job.State?.Current ?? "UNKNOWN";
        if (SlurmStateMap.Normalize(state) == "CANCELLED" && !string.IsNullOrEmpty(job.KillRequestUser)) state += " by " + job.KillRequestUser;
        var record = new SacctJob
        {
            JobId = id,
            JobIdRaw = rawId,
            State = state,
            ExitCode = ExitCodeOf(job.ExitCode),
            Submit = Epoch(job.Time?.Submission),
            Start = Epoch(job.Time?.Start),
            End = Epoch(job.Time?.End),
            ElapsedSeconds = job.Time?.Elapsed,
            TotalCpu = ownCpu is { Ticks: > 0 } ? ownCpu : stepCpu.Count > 0 ? stepCpu.Aggregate(TimeSpan.Zero, (a, b) => a + b!.Value) : ownCpu,
            CpuTimeRawSeconds = job.Time?.Elapsed is { } e && allocCpus is { } n ? e * n : null,
            MaxRssBytes = maxRss,
            AllocCpus = allocCpus is { } cpus ? (int)Math.Min(cpus, int.MaxValue) : null,
            Reason = string.IsNullOrEmpty(job.State?.Reason) ? null : job.State.Reason,
            WorkDir = string.IsNullOrEmpty(job.WorkingDirectory) ? null : job.WorkingDirectory,
            JobName = string.IsNullOrEmpty(job.Name) ? null : job.Name,
            Comment = string.IsNullOrEmpty(job.Comment?.Job) ? null : job.Comment.Job,
            StepCount = steps.Count,
        };
        return SlurmArrayIds.IsCompressed(id) ? SlurmArrayIds.Expand(id).Select(record.ForUnsplitElement).ToList() : [record];
    }

    /// <summary>slurmdb's exit code as sacct's <c>code:signal</c>; null while pending.</summary>
    public static SlurmExitCode? ExitCodeOf(SlurmDbApi.ExitCode? exit) => exit?.Status switch
    {
        null or "PENDING" => null,
        "SIGNALED" => new SlurmExitCode(0, (int)(exit.Signal?.SignalId ?? 0)),
        _ => new SlurmExitCode((int)(exit.ReturnCode ?? 0), 0),
    };

    /// <summary>The controller's raw wait status (768 = exit 3, 9 = SIGKILL) as <c>code:signal</c>.</summary>
    public static SlurmExitCode FromWaitStatus(long status) =>
        (status & 0x7f) == 0 ? new SlurmExitCode((int)((status >> 8) & 0xff), 0) : new SlurmExitCode(0, (int)(status & 0x7f));

    /// <summary>A time as slurmrestd's query parameters read it (<c>YYYY-MM-DDTHH:MM:SS</c>).</summary>
    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

    // Slurm's communication errnos (1000–1999: slurmctld or slurmdbd could not be reached): could not be asked.
    private static bool IsCommunicationFailure(IReadOnlyList<SlurmApi.ApiError> errors) =>
        errors.Count > 0 && errors.All(e => e.Number is >= 1000 and < 2000);

    private static DateTimeOffset? Epoch(long? seconds) =>
        seconds is > 0 and < 253402300800 ? DateTimeOffset.FromUnixTimeSeconds(seconds.Value) : null;
}
