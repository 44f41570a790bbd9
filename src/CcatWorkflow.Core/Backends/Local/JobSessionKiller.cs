using System.Text;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Ends the processes of a job's session from outside the runner: when the runner is gone
/// (a lost job's leftovers) or does not answer a cancel. Only processes proven to be the job's
/// are signalled (see <see cref="Members"/>); a process that merely reuses a pid is never touched.
/// </summary>
internal static class JobSessionKiller
{
    /// <summary>The variable the runner sets in every job's environment: the job id.</summary>
    public const string JobIdVariable = "CCAT_JOB_ID";

    /// <summary>
    /// TERM to every member, up to <paramref name="grace"/> for them to go, then KILL. Returns
    /// true when no member is left.
    /// </summary>
    public static async Task<bool> EndAsync(string jobId, LocalRunnerState job, TimeSpan grace, CancellationToken cancellationToken)
    {
        if (Signal(jobId, job, LocalNative.SIGTERM) == 0) return true;
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            if (Members(jobId, job).Count == 0) return true;
        }

        for (var i = 0; i < 50; i++)
        {
            if (Signal(jobId, job, LocalNative.SIGKILL) == 0) return true;
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        return Members(jobId, job).Count == 0;
    }

    /// <summary>Signals every current member; returns how many there were.</summary>
    public static int Signal(string jobId, LocalRunnerState job, int signal)
    {
        var members = Members(jobId, job);
        foreach (var p in members)
        {
            _ = LocalNative.Kill(p.Pid, signal);
            if (signal == LocalNative.SIGTERM)
            {
                _ = LocalNative.Kill(p.Pid, LocalNative.SIGCONT); // a stopped process cannot act on TERM
            }
        }

        return members.Count;
    }

    /// <summary>
    /// The live processes of the job's session. The job's shell leads the session (session id =
    /// its pid). While that leader lives with the recorded start time, the session is certainly
    /// the job's, and so is every member. When a process with the leader's pid lives but started
    /// at another time, the pid was reused — which the kernel allows only once no process of the
    /// old session is left — so nothing is the job's. When the leader is gone, a member must also
    /// carry <see cref="JobIdVariable"/> with this job's id in its environment (a later session
    /// that got the same number cannot); members that cleared their environment are left alone.
    /// </summary>
    public static List<ProcStat> Members(string jobId, LocalRunnerState job)
    {
        var snapshot = ProcFs.Snapshot();
        var leader = snapshot.FirstOrDefault(p => p.Pid == job.JobPid);
        var candidates = snapshot.Where(p => p.Session == job.JobPid && !p.HasExited).ToList();
        if (leader != default && leader.StartTicks == job.JobStartTicks && !leader.HasExited)
        {
            return candidates;
        }

        if (leader != default)
        {
            return [];
        }

        var marker = Encoding.UTF8.GetBytes($"{JobIdVariable}={jobId}\0");
        return candidates.Where(p => p.StartTicks >= job.JobStartTicks && EnvironmentContains(p.Pid, marker)).ToList();
    }

    private static bool EnvironmentContains(int pid, byte[] entry)
    {
        byte[] env;
        try
        {
            env = File.ReadAllBytes($"/proc/{pid}/environ");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        var span = env.AsSpan();
        while (span.Length > 0)
        {
            var i = span.IndexOf(entry);
            if (i < 0) return false;
            if (i == 0 || env[env.Length - span.Length + i - 1] == 0) return true;
            span = span[(i + 1)..];
        }

        return false;
    }
}
