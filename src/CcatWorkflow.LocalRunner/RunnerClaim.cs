using CcatWorkflow.Core.Backends.Local;

namespace CcatWorkflow.LocalRunner;

/// <summary>
/// How a runner claims a folder, for the job runner and the array runner alike: runner.json
/// (who watches, written before anything is started — what the submitter waits for, and what
/// tells a reader that finds the runner gone whether anything ran), its first heartbeat, and
/// the heartbeats after.
/// </summary>
internal static class RunnerClaim
{
    /// <summary>The runner's own part of runner.json: this machine, this process, no job process yet.</summary>
    public static LocalRunnerState NewState() => new()
    {
        Host = Environment.MachineName,
        BootId = ProcFs.BootId,
        PidNamespace = ProcFs.PidNamespace,
        RunnerPid = Environment.ProcessId,
        RunnerStartTicks = ProcFs.TryReadStat(Environment.ProcessId)?.StartTicks ?? 0,
        JobPid = 0,
        JobStartTicks = 0,
        StartedAt = DateTimeOffset.UtcNow,
        Runner = System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "managed" : "native",
    };

    /// <summary>
    /// Writes runner.json (never over another runner's) and the first heartbeat. Returns null
    /// when the folder is this runner's; else the runner's exit code, logged: 3 when another
    /// runner has it, 4 when runner.json cannot be written. <paramref name="what"/> names what
    /// is then not started ("the job", "any element").
    /// </summary>
    public static int? Claim(LocalJobDirectory dir, LocalRunnerState state, string what, Action<string> log)
    {
        try
        {
            if (!dir.TryCreateRunner(state))
            {
                log($"runner.json exists already: another runner has this folder; not starting {what}");
                return 3;
            }

            dir.TouchHeartbeat();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log($"cannot write runner.json, so not starting {what}: {e.Message}");
            return 4;
        }
    }

    /// <summary>Touches the folder's heartbeat; a failure is logged, not fatal (the lock is the liveness proof).</summary>
    public static void Heartbeat(LocalJobDirectory dir, Action<string> log)
    {
        try
        {
            dir.TouchHeartbeat();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log($"heartbeat failed: {e.Message}");
        }
    }
}
