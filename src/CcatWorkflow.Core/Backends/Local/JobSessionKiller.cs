using System.Globalization;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Ends a job's processes from outside its runner: when the runner is proven gone (a lost job's
/// leftovers) or does not answer a cancel. What makes a process the job's is evidence no other
/// user can forge (docs/security.md):
/// <list type="bullet">
/// <item>membership of the job's cgroup (<see cref="JobCgroup"/>), which only its creator
/// (root) can grant; or</item>
/// <item>an open descriptor on the job's <c>runner.lock</c>, which the runner hands to the job
/// and every descendant inherits (through <c>setsid</c>, <c>env -i</c>, daemonising) — the
/// file is 0600 in a 0700 folder, so only its owner could have opened it;</item>
/// </list>
/// and in both cases the process must run as the owner of the job's folder (real and
/// effective uid): no cmdlet signals another user's process for a folder it did not write.
/// Pids and start times written in runner.json are never evidence: anyone can write them.
/// </summary>
internal static class JobSessionKiller
{
    /// <summary>The variable the runner sets in every job's environment: the job id (for the job's own use; not evidence).</summary>
    public const string JobIdVariable = "CCAT_JOB_ID";

    /// <summary>
    /// TERM to every member, up to <paramref name="grace"/> for them to go, then KILL. Returns
    /// what was done (for the job's message), or null when nothing was left to end.
    /// <paramref name="spare"/> is a pid never signalled (the live runner being bypassed).
    /// </summary>
    public static async Task<KillReport> EndAsync(LocalJobDirectory dir, TimeSpan grace, CancellationToken cancellationToken, int spare = 0)
    {
        var first = Members(dir, spare);
        var report = new KillReport(first.Pids.Count, first.Evidence, 0, dir.Owner);
        if (first.Pids.Count == 0) return report;
        Signal(first.Pids, LocalNative.SIGTERM);
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            if (Members(dir, spare).Pids.Count == 0) return report;
        }

        for (var i = 0; i < 50; i++)
        {
            var left = Members(dir, spare).Pids;
            if (left.Count == 0) return report;
            Signal(left, LocalNative.SIGKILL);
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        return report with { Survivors = Members(dir, spare).Pids.Count };
    }

    private static void Signal(IEnumerable<int> pids, int signal)
    {
        foreach (var pid in pids)
        {
            _ = LocalNative.Kill(pid, signal);
            if (signal == LocalNative.SIGTERM) _ = LocalNative.Kill(pid, LocalNative.SIGCONT); // a stopped process cannot act on TERM
        }
    }

    /// <summary>
    /// The live processes proven to be the job's (see the class comment), and the evidence
    /// that proved it. Empty when the folder's owner cannot be established.
    /// </summary>
    public static (List<int> Pids, string Evidence) Members(LocalJobDirectory dir, int spare = 0)
    {
        var jobId = Path.GetFileName(dir.Path);
        if (dir.Owner is not { } owner) return ([], "the job folder's owner cannot be established");
        var self = Environment.ProcessId;
        var found = new SortedSet<int>();
        var cgroup = JobCgroup.Members(jobId);
        foreach (var pid in cgroup) found.Add(pid);
        var marked = MarkedProcesses(dir.FilePath(LocalJobDirectory.LockFile));
        foreach (var pid in marked) found.Add(pid);
        var pids = found.Where(pid => pid != self && pid != spare && IsLiveAndOwnedBy(pid, owner)).ToList();
        var evidence = $"member of cgroup {JobCgroup.PathOf(jobId)} ({cgroup.Count}) or holding {dir.FilePath(LocalJobDirectory.LockFile)} open ({marked.Count}), running as uid {owner.ToString(CultureInfo.InvariantCulture)} (the job folder's owner)";
        return (pids, evidence);
    }

    private static bool IsLiveAndOwnedBy(int pid, uint owner) =>
        ProcFs.TryReadStat(pid) is { HasExited: false } && SafeFile.ProcessUids(pid) is { } u && u.Real == owner && u.Effective == owner;

    /// <summary>Processes with an open descriptor on <paramref name="lockPath"/> (also once it was deleted).</summary>
    public static List<int> MarkedProcesses(string lockPath)
    {
        var deleted = lockPath + " (deleted)";
        var list = new List<int>();
        IEnumerable<string> procs;
        try
        {
            procs = Directory.EnumerateDirectories("/proc").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return list;
        }

        foreach (var proc in procs)
        {
            var name = Path.GetFileName(proc);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]) || !int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(proc, "fd")))
                {
                    var target = new FileInfo(fd).LinkTarget;
                    if (target == lockPath || target == deleted)
                    {
                        list.Add(pid);
                        break;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone, or not ours to look at (then not ours to signal either)
            }
        }

        return list;
    }
}

/// <summary>What <see cref="JobSessionKiller.EndAsync"/> did: how many processes it found, by which evidence, and how many survived KILL.</summary>
internal sealed record KillReport(int Found, string Evidence, int Survivors, uint? Owner)
{
    /// <summary>The sentence for the job's message.</summary>
    public string Describe() => Found == 0
        ? "No process of the job was left."
        : $"Ended {Found} leftover process(es) of the job, each {Evidence}{(Survivors > 0 ? $"; {Survivors} survived KILL" : "")}.";
}
