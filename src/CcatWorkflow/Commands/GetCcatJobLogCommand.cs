using System.Management.Automation;
using System.Threading.Channels;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;

namespace CcatWorkflow.Commands;

/// <summary>
/// <para type="synopsis">Gets the output of jobs.</para>
/// <para type="description">For one job, writes its standard output then standard error line by line, as strings (or as one string with -Raw). For several jobs, writes CcatLogLine objects (JobId, Backend, JobName, Stream, Text) that display as their text, grouped by job, so the output of each job can be told apart: group them with Group-Object JobId or filter with Where-Object Stream -eq Error; with -Raw, one string per job as before. -Tail N reads only the last N lines of each stream, without reading a large log whole. -Follow writes new output as the jobs produce it, until they end or Ctrl+C; with several jobs their lines are interleaved as they arrive.</para>
/// </summary>
/// <example>
/// <code>$job | Get-CcatJobLog -Tail 20</code>
/// <para>The last 20 lines of the job's standard output and standard error.</para>
/// </example>
/// <example>
/// <code>Get-CcatJob -Status Failed | Get-CcatJobLog -Tail 5 | Where-Object Stream -eq Error | Group-Object JobName</code>
/// <para>The last five lines of standard error of every failed job, grouped by job.</para>
/// </example>
/// <example>
/// <code>$jobs | Get-CcatJobLog -Follow</code>
/// <para>Follows the output of several jobs at once: lines appear as each job writes them, each carrying its job.</para>
/// </example>
/// <example>
/// <code>$job | Get-CcatJobLog -Attempt 1 -Tail 20</code>
/// <para>For a job run again by its retry policy (Submit-CcatJob -RetryOn): the last lines of its first attempt; without -Attempt, the latest attempt's log.</para>
/// </example>
/// <example>
/// <code>Get-CcatJobLog -JobId 123456 -Backend Slurm -Stream Error -Follow</code>
/// <para>Writes the job's standard error as it grows, until the job ends.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "CcatJobLog", DefaultParameterSetName = ByIdSet, HelpUri = HelpLinks.Online)]
[OutputType(typeof(string), typeof(CcatLogLine))]
public sealed class GetCcatJobLogCommand : JobCmdlet
{
    /// <summary>Only the last N lines of each stream.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int Tail { get; set; } = -1;

    /// <summary>Which stream: All (stdout then stderr), Output or Error.</summary>
    [Parameter]
    public LogStream Stream { get; set; } = LogStream.All;

    /// <summary>Keep writing output as the job produces it, until it ends.</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    /// <summary>Write each job's log as one string instead of line by line.</summary>
    [Parameter]
    public SwitchParameter Raw { get; set; }

    /// <summary>For a job under a retry policy: which attempt's log (1 = the first; see the job's PreviousAttempts). Default: the latest attempt.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Attempt { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var query = new LogQuery(Stream, Tail >= 0 ? Tail : null) { Attempt = Attempt > 0 ? Attempt : null };
        if (Targets.Count > 1 && !Raw)
        {
            // Several jobs: lines that carry their job (one job keeps plain strings, as scripts expect).
            var names = JobNames();
            if (Follow) FollowMany(query, names);
            else ReadMany(query, names);
            return;
        }

        foreach (var t in Targets)
        {
            var backend = GetBackend(t.Backend);
            try
            {
                if (Follow)
                {
                    FollowLog(backend, t, query);
                }
                else
                {
                    Emit(RunSync(ct => backend.ReadLogsAsync(t.JobId, query, ct)));
                }
            }
            catch (CcatException ex)
            {
                WriteCcatError(ex, t.Target);
            }
        }
    }

    private void FollowLog(Core.HPCBackend backend, JobTarget t, LogQuery query)
    {
        var stream = backend.StreamLogsAsync(t.JobId, query, CancellationToken);
        var e = stream.GetAsyncEnumerator(CancellationToken);
        try
        {
            // Each chunk is fetched on the thread pool and written here, on the pipeline thread.
            var partial = "";
            while (RunSync(async _ => await e.MoveNextAsync().ConfigureAwait(false)))
            {
                if (Raw)
                {
                    WriteObject(e.Current);
                    continue;
                }

                var text = partial + e.Current;
                var last = text.LastIndexOf('\n');
                partial = text[(last + 1)..];
                if (last >= 0)
                {
                    WriteLines(text[..last]);
                }
            }

            if (partial.Length > 0) WriteLines(partial);
        }
        finally
        {
            RunSync(async _ => await e.DisposeAsync().ConfigureAwait(false));
        }
    }

    private void Emit(string text)
    {
        if (Raw)
        {
            WriteObject(text);
            return;
        }

        if (text.Length == 0) return;
        if (text.EndsWith('\n')) text = text[..^1];
        WriteLines(text);
    }

    // One line splitter for every path: '\n' ends a line, a '\r' before it belongs to the ending.
    private void WriteLines(string text, Func<string, object>? wrap = null)
    {
        foreach (var line in text.Split('\n'))
        {
            var clean = line.EndsWith('\r') ? line[..^1] : line;
            WriteObject(wrap is null ? clean : wrap(clean));
        }
    }

    // The name of each job, for its lines: from the piped object, else one status batch per backend.
    private Dictionary<JobTarget, string?> JobNames()
    {
        var names = Targets.ToDictionary(t => t, t => (t.Target as HPCJobInfo)?.JobName);
        var unnamed = Targets.Where(t => t.Target is not HPCJobInfo).ToList();
        if (unnamed.Count > 0)
        {
            foreach (var (t, (info, _)) in QueryStatuses(unnamed))
            {
                names[t] = info?.JobName;
            }
        }

        return names;
    }

    // Output and error are read apart where the backend keeps them apart, so each line says which.
    private static IEnumerable<LogStream> StreamsOf(HPCBackendKind backend, LogStream asked) =>
        asked != LogStream.All || backend == HPCBackendKind.Kubernetes ? [asked] : [LogStream.Output, LogStream.Error];

    private void ReadMany(LogQuery query, Dictionary<JobTarget, string?> names)
    {
        foreach (var t in Targets)
        {
            var backend = GetBackend(t.Backend);
            try
            {
                foreach (var stream in StreamsOf(t.Backend, query.Stream))
                {
                    var text = RunSync(ct => backend.ReadLogsAsync(t.JobId, query with { Stream = stream }, ct));
                    if (text.Length == 0) continue;
                    if (text.EndsWith('\n')) text = text[..^1];
                    WriteLines(text, line => new CcatLogLine(t.JobId, t.Backend, names[t], stream, line));
                }
            }
            catch (CcatException ex)
            {
                WriteCcatError(ex, t.Target);
            }
        }
    }

    // Every job is followed at once on the thread pool; chunks arrive in one channel and are
    // written here, on the pipeline thread, as they come — so the jobs' lines interleave.
    private void FollowMany(LogQuery query, Dictionary<JobTarget, string?> names)
    {
        var backends = Targets.ToDictionary(t => t, t => GetBackend(t.Backend));
        var channel = Channel.CreateUnbounded<(JobTarget Target, string? Chunk, CcatException? Error)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken);
        var followers = Targets.Select(t => Task.Run(async () =>
        {
            try
            {
                await foreach (var chunk in backends[t].StreamLogsAsync(t.JobId, query, stop.Token).ConfigureAwait(false))
                {
                    await channel.Writer.WriteAsync((t, chunk, null), stop.Token).ConfigureAwait(false);
                }

                channel.Writer.TryWrite((t, null, null));
            }
            catch (CcatException ex)
            {
                channel.Writer.TryWrite((t, null, ex));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Ctrl+C, or the pipeline ended early: nothing to report.
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                channel.Writer.TryWrite((t, null, new CcatException(CcatErrorId.InternalError, $"Following the log of job '{t.JobId}' failed: {ex.Message}", t.JobId, ex)));
            }
        })).ToList();

        var partial = Targets.ToDictionary(t => t, _ => "");
        var running = Targets.Count;
        try
        {
            while (running > 0)
            {
                var (t, chunk, error) = RunSync(ct => channel.Reader.ReadAsync(ct).AsTask());
                CcatLogLine Line(string text) => new(t.JobId, t.Backend, names[t], query.Stream, text);
                if (chunk is null)
                {
                    running--;
                    if (partial[t].Length > 0) WriteLines(partial[t], Line);
                    partial[t] = "";
                    if (error is not null) WriteCcatError(error, t.Target);
                    continue;
                }

                var text = partial[t] + chunk;
                var last = text.LastIndexOf('\n');
                partial[t] = text[(last + 1)..];
                if (last >= 0) WriteLines(text[..last], Line);
            }
        }
        finally
        {
            stop.Cancel();
            Task.WaitAll([.. followers]);
        }
    }
}
