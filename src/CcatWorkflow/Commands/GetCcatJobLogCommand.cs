using System.Management.Automation;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;

namespace CcatWorkflow.Commands;

/// <summary>
/// <para type="synopsis">Gets the output of jobs.</para>
/// <para type="description">Writes each job's standard output then standard error, line by line (or as one string with -Raw). -Tail N reads only the last N lines of each stream, without reading a large log whole. -Follow writes new output as the job produces it, until the job ends or Ctrl+C.</para>
/// </summary>
/// <example>
/// <code>$job | Get-CcatJobLog -Tail 20</code>
/// <para>The last 20 lines of the job's standard output and standard error.</para>
/// </example>
/// <example>
/// <code>Get-CcatJobLog -JobId 123456 -Backend Slurm -Stream Error -Follow</code>
/// <para>Writes the job's standard error as it grows, until the job ends.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "CcatJobLog", DefaultParameterSetName = ByIdSet)]
[OutputType(typeof(string))]
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

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var query = new LogQuery(Stream, Tail >= 0 ? Tail : null);
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

    // One line splitter for both paths: '\n' ends a line, a '\r' before it belongs to the ending.
    private void WriteLines(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            WriteObject(line.EndsWith('\r') ? line[..^1] : line);
        }
    }
}
