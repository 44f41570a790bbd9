using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Backends.Local;

namespace CcatWorkflow.LocalRunner;

/// <summary>A dependent job's wait for its parents (see <see cref="ParentWait"/>).</summary>
internal sealed partial class JobSupervisor
{
    /// <summary>
    /// Marks the folder as waiting (what the submitter waits for, in place of runner.json: the
    /// runner lives, holds its lock and will start or end the job), then waits. Null: start the
    /// job; else the result to record (never satisfied, cancelled, or the runner was told to end).
    /// </summary>
    private LocalJobResult? WaitForParents(JobDependency dependency)
    {
        try
        {
            LocalArrayFiles.MarkWaiting(_dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log($"cannot mark the job as waiting, so it is not started: {e.Message}");
            return new LocalJobResult
            {
                Reason = LocalJobRecord.ReasonText(HPCJobReason.LaunchFailure),
                FinishedAt = DateTimeOffset.UtcNow,
                Message = $"The runner could not write {LocalArrayFiles.WaitingFile}: {e.Message}",
                Host = Environment.MachineName,
            };
        }

        Log($"waiting for {string.Join(", ", dependency.ParentIds)} ({dependency.Condition})");
        return ParentWait.Wait(dependency, StoreOptions(_dir), () => _dir.CancelRequested || _terminateRequested, Log);
    }
}
