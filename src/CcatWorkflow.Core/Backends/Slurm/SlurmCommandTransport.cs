using System.Text.RegularExpressions;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// The CLI and SSH transports: Slurm's client commands (sbatch, squeue, sacct, scancel,
/// scontrol) with argument lists and neutral environments, run by an <see cref="ISlurmShell"/> —
/// this machine's or a login node's over SSH. How a command's exit code and messages read
/// ("refused" vs "could not be asked") is decided here, once for both.
/// </summary>
public sealed partial class SlurmCommandTransport(SlurmTransportKind kind, ISlurmShell shell, ISlurmJobFiles files) : ISlurmTransport
{
    /// <summary>Ids per squeue or sacct call (long id lists make both slow or fail).</summary>
    public const int QueryChunkSize = 500;

    /// <inheritdoc />
    public SlurmTransportKind Kind { get; } = kind;

    private int _folderSubmits;

    /// <inheritdoc />
    public int SchedulerCalls => shell.CommandsRun + _folderSubmits;

    /// <inheritdoc />
    public ISlurmJobFiles Files { get; } = files;

    /// <summary>Where the commands run.</summary>
    public ISlurmShell Shell => shell;

    /// <inheritdoc />
    public async Task<string> SubmitAsync(SlurmSubmitRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var sbatch = new SlurmCommandLine("sbatch", ["--parsable", SlurmJobFolder.Join(request.Folder, SlurmJobDirectory.ScriptFile)],
            SlurmCommands.SubmitEnvironment(request.Directives)) { Secrets = request.Secrets };
        var inOneRequest = Files as ISlurmSubmittingJobFiles;
        if (inOneRequest is null) await Files.PrepareAsync(request.FolderName, request.Script, request.Metadata, cancellationToken).ConfigureAwait(false);
        CommandResult result;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Once sbatch runs, it is not interrupted (Ctrl+C included): Slurm may already have
            // accepted the job, and killing sbatch then would leave a job whose folder we delete.
            // sbatch's own timeout bounds the wait.
            if (inOneRequest is not null)
            {
                Interlocked.Increment(ref _folderSubmits);
                // Folder, sbatch and link (or deletion) in one request: the id printed is linked there.
                result = await inOneRequest.PrepareSubmitAndLinkAsync(request, sbatch, SlurmCommands.SubmitTimeout, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                result = await shell.RunAsync(sbatch, SlurmCommands.SubmitTimeout, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (CcatException ex) when (inOneRequest is not null && ex.ErrorId == CcatErrorId.InvalidConfiguration)
        {
            throw; // the folder could not be written: sbatch did not run, and nothing is left
        }
        catch (CcatException ex) when (ex.InnerException is TimeoutException)
        {
            // Unknown whether Slurm accepted the job: keep its folder so a job that does run can
            // write its logs, and say exactly that.
            throw new CcatException(CcatErrorId.SchedulerUnavailable,
                $"{ex.Message} The job may or may not have been submitted — Get-CcatJob -Backend Slurm lists it if it was. Its folder is kept: {request.Folder}", innerException: ex);
        }
        catch
        {
            await Files.DeleteAsync(request.Folder, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        return await SubmittedIdAsync(request, result, linked: inOneRequest is not null).ConfigureAwait(false);
    }

    // sbatch's answer read once for both ways of submitting: the id, or why there is none.
    // Without an id the folder is deleted (already done by a one-request submission).
    private async Task<string> SubmittedIdAsync(SlurmSubmitRequest request, CommandResult result, bool linked)
    {
        var id = result.Succeeded ? SlurmJobId.ParseSbatchOutput(result.StandardOutput) : null;
        if (id is null)
        {
            if (!linked) await Files.DeleteAsync(request.Folder, CancellationToken.None).ConfigureAwait(false);
            var message = SlurmCommands.FirstLines(result.StandardError, result.StandardOutput);
            if (!result.Succeeded && SlurmCommands.LooksUnreachable(result.StandardError))
            {
                throw new CcatException(CcatErrorId.SchedulerUnavailable, $"Slurm could not be asked to run the job: {message}");
            }

            throw new CcatException(CcatErrorId.SubmissionRejected, result.Succeeded
                ? $"sbatch printed no job id: {message}"
                : $"sbatch refused the job: {message}");
        }

        if (linked) return id;
        try
        {
            await Files.LinkAsync(id, request.FolderName, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CcatException)
        {
            // The job exists and runs; only the by-id link is missing. Status still works
            // through squeue/sacct, logs through scontrol while the controller knows the job.
        }

        return id;
    }

    /// <inheritdoc />
    public async Task<SlurmQueryResult> QueryAsync(IReadOnlyList<string> ids, DateTimeOffset since, bool accounting, CancellationToken cancellationToken)
    {
        var squeue = ids.Chunk(QueryChunkSize).Select(SqueueCommand).ToList();
        var sacct = accounting ? ids.Chunk(QueryChunkSize).Select(c => SacctCommand(c, since)).ToList() : [];
        // squeue (controller) and sacct (database) are independent: asked at once, in one request where the shell can.
        var outcomes = await shell.RunAllAsync([.. squeue, .. sacct], SlurmCommands.QueryTimeout, cancellationToken).ConfigureAwait(false);

        var live = new List<SqueueJob>();
        foreach (var o in outcomes.Take(squeue.Count))
        {
            if (o.Error is { } error) throw error;
            var result = o.Result!;
            if (!result.Succeeded)
            {
                // A single id the controller has purged: "Invalid job id specified", exit 1. Not an outage.
                if (result.StandardError.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase)) continue;
                throw SlurmCommands.Unavailable("squeue", result);
            }

            live.AddRange(SqueueParser.Parse(result.StandardOutput));
        }

        var accounted = new List<SacctJob>();
        CcatException? accountingError = null;
        foreach (var o in outcomes.Skip(squeue.Count))
        {
            if (o.Error is { } error)
            {
                if (!error.IsUnavailable) throw error;
                accountingError = error;
                break;
            }

            if (!o.Result!.Succeeded)
            {
                accountingError = SlurmCommands.Unavailable("sacct", o.Result);
                break;
            }

            accounted.AddRange(SacctParser.Parse(o.Result.StandardOutput));
        }

        return new SlurmQueryResult(live, accountingError is null ? accounted : [], accountingError);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SacctJob>> AccountingAsync(IReadOnlyList<string>? ids, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var commands = ids is null
            // An explicit end: with sacct's default (--endtime=now) a job submitted in the last
            // seconds is missing from the list (seen on 22.05), though sacct --jobs finds it.
            ? [new SlurmCommandLine("sacct", ["--parsable2", "--noheader", "--format=" + SacctParser.Format, "--starttime=" + SlurmTime.FormatQueryTime(since),
                "--endtime=" + SlurmTime.FormatQueryTime(DateTimeOffset.UtcNow + TimeSpan.FromDays(1))],
                SlurmCommands.QueryEnvironment())]
            : ids.Chunk(QueryChunkSize).Select(c => SacctCommand(c, since)).ToList();
        var jobs = new List<SacctJob>();
        foreach (var o in await shell.RunAllAsync(commands, SlurmCommands.QueryTimeout, cancellationToken).ConfigureAwait(false))
        {
            if (o.Error is { } error) throw error;
            if (!o.Result!.Succeeded) throw SlurmCommands.Unavailable("sacct", o.Result);
            jobs.AddRange(SacctParser.Parse(o.Result.StandardOutput));
        }

        return jobs;
    }

    [GeneratedRegex(@"Kill job error on job id (\S+): (.+)$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex KillError();

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, string>> CancelAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        // scancel 22.05 exits 0 even when it could not cancel; --verbose makes it name each
        // job it could not ("Kill job error on job id N: <why>").
        var result = await shell.RunAsync(new SlurmCommandLine("scancel", ["--verbose", .. ids], SlurmCommands.QueryEnvironment()),
            SlurmCommands.QueryTimeout, cancellationToken).ConfigureAwait(false);
        var perJob = KillError().Matches(result.StandardError)
            .GroupBy(m => m.Groups[1].Value, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last().Groups[2].Value.Trim(), StringComparer.Ordinal);
        // The controller could not be asked at all: either no per-job answer and a failure,
        // or "Unable to contact slurm controller" for every job.
        var unreachable = ids.All(id => perJob.TryGetValue(id, out var w) && SlurmCommands.LooksUnreachable(w));
        if (unreachable || (perJob.Count == 0 && !result.Succeeded))
        {
            throw unreachable || SlurmCommands.LooksUnreachable(result.StandardError)
                ? SlurmCommands.Unavailable("scancel", result)
                : new CcatException(CcatErrorId.CancelFailed, $"scancel failed: {SlurmCommands.FirstLines(result.StandardError, result.StandardOutput)}");
        }

        return perJob;
    }

    /// <inheritdoc />
    public async Task<(string Stdout, string Stderr)?> ControllerLogPathsAsync(string jobId, CancellationToken cancellationToken)
    {
        var result = await shell.RunAsync(new SlurmCommandLine("scontrol", ["show", "job", "--oneliner", jobId], SlurmCommands.QueryEnvironment()),
            SlurmCommands.QueryTimeout, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            if (result.StandardError.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase)) return null;
            throw SlurmCommands.Unavailable("scontrol", result);
        }

        var fields = result.StandardOutput.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var outPath = fields.FirstOrDefault(f => f.StartsWith("StdOut=", StringComparison.Ordinal))?["StdOut=".Length..];
        var errPath = fields.FirstOrDefault(f => f.StartsWith("StdErr=", StringComparison.Ordinal))?["StdErr=".Length..];
        if (outPath is null) throw new CcatException(CcatErrorId.LogUnavailable, $"Slurm does not say where job '{jobId}' writes its output.", jobId);
        return (outPath.Trim(), (errPath ?? outPath).Trim());
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> PartitionsAsync(CancellationToken cancellationToken)
    {
        // %R: the bare name (%P marks the default with '*').
        var result = await shell.RunAsync(new SlurmCommandLine("sinfo", ["--noheader", "--format=%R"], SlurmCommands.QueryEnvironment()),
            SlurmCommands.QueryTimeout, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded) return [];
        return result.StandardOutput.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => shell.DisposeAsync();

    private static SlurmCommandLine SqueueCommand(string[] chunk) =>
        new("squeue", ["--noheader", "--array", "--states=all", "--format=" + SqueueParser.Format, "--jobs=" + string.Join(',', chunk)],
            SlurmCommands.QueryEnvironment());

    private static SlurmCommandLine SacctCommand(string[] chunk, DateTimeOffset since) =>
        new("sacct", ["--parsable2", "--noheader", "--allusers", "--format=" + SacctParser.Format,
            "--starttime=" + SlurmTime.FormatQueryTime(since), "--jobs=" + string.Join(',', chunk)], SlurmCommands.QueryEnvironment());
}
