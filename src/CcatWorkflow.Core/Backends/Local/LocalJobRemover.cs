using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Remove-CcatJob on the Local backend: a finished job's store record (file or Redis) and its
/// job directory go. The module's mark is the directory itself: a real directory (not a
/// symbolic link) named by the job's id under LOCAL_JOB_DIR whose <c>job.json</c> names that id.
/// A directory without it is left alone, and so is its record.
/// </summary>
public sealed partial class LocalBackend
{
    // How long a removal waits for a finished job's runner (on this machine) to exit after it
    // recorded the result, so the directory is not deleted under its last writes.
    private static readonly TimeSpan RunnerExitWait = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    protected override async Task<IReadOnlyList<JobQueryResult>> RemoveFinishedAsync(IReadOnlyList<HPCJobInfo> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var results = new List<JobQueryResult>(jobs.Count);
        foreach (var job in jobs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var error = await RemoveOneAsync(job.JobId, cancellationToken).ConfigureAwait(false);
            results.Add(new JobQueryResult(job.JobId, job, error));
        }

        return results;
    }

    private async Task<CcatException?> RemoveOneAsync(string jobId, CancellationToken cancellationToken)
    {
        var id = Canonical(jobId);
        if (id is null) return InvalidId(jobId);
        var dir = _inspector.DirectoryOf(id);
        if (OwnershipProblem(id, dir) is { } refusal) return refusal;

        if (dir.TryReadRunner() is { } runner && runner.IsOnThisMachine())
        {
            var deadline = DateTime.UtcNow + RunnerExitWait;
            while (ProcFs.IsAlive(runner.RunnerPid, runner.RunnerStartTicks) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }

        // An array's elements are jobs of their own (a folder and a record each, made when the
        // array runner started them): removing the array removes them first, so nothing of it
        // is left behind. An element never started has neither.
        var records = await RecordMapAsync([id], cancellationToken).ConfigureAwait(false);
        if (IsArray(records, id))
        {
            foreach (var index in IndicesOf(records[id].Record!))
            {
                var elementId = ArrayElementId.Format(id, index);
                if (!Directory.Exists(_inspector.DirectoryOf(elementId).Path)) continue;
                if (await RemoveOneAsync(elementId, cancellationToken).ConfigureAwait(false) is { } elementError) return elementError;
            }
        }

        // The record first: a job without a record is invisible to every cmdlet, whereas a
        // record without its directory would read as a job that can no longer be removed.
        await _store.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        try
        {
            Directory.Delete(dir.Path, recursive: true);
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null; // another session removed it at the same time
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new CcatException(CcatErrorId.RemoveFailed,
                $"The record of job {id} is removed but its directory {dir.Path} could not be: {e.Message}", id, e);
        }
    }

    /// <summary>Why the job's directory must not be removed, or null when it carries the module's mark.</summary>
    private static CcatException? OwnershipProblem(string id, LocalJobDirectory dir)
    {
        var info = new DirectoryInfo(dir.Path);
        if (info.LinkTarget is not null)
        {
            return new CcatException(CcatErrorId.NotOwnedByModule,
                $"{dir.Path} is a symbolic link, not a job directory the module made: nothing of job {id} is removed.", id);
        }

        if (!info.Exists)
        {
            return new CcatException(CcatErrorId.RemoveFailed,
                $"The job directory {dir.Path} of job {id} is not visible here: remove the job from the host that has it (nothing was removed).", id);
        }

        LocalJobSpec? spec;
        try
        {
            spec = dir.TryReadSpec();
        }
        catch (CcatException)
        {
            spec = null;
        }

        return spec is not null && string.Equals(spec.Id, id, StringComparison.Ordinal)
            ? null
            : new CcatException(CcatErrorId.NotOwnedByModule,
                $"{dir.Path} has no job.json naming job {id}: it is not a job directory the module made, and nothing of it is removed.", id);
    }
}
