using System.Runtime.InteropServices;
using CcatWorkflow.Core.Backends.Local;

namespace CcatWorkflow.LocalRunner;

/// <summary>
/// libc calls of the runner: becoming a child subreaper and a session leader, starting the job
/// with posix_spawn in a session of its own, waiting with wait4, and reading the CPU and
/// memory of everything reaped with getrusage.
/// </summary>
internal static unsafe partial class RunnerNative
{
    public const int WNOHANG = 1;
    public const int RUSAGE_CHILDREN = -1;
    public const int SIGCHLD = 17;

    private const int PR_SET_CHILD_SUBREAPER = 36;

    [StructLayout(LayoutKind.Sequential)]
    public struct Rusage
    {
        public long UserSeconds, UserMicroseconds, SystemSeconds, SystemMicroseconds;
        public long MaxRssKilobytes;
        public fixed long Rest[13];

        public readonly double UserCpu => UserSeconds + (UserMicroseconds / 1e6);

        public readonly double SystemCpu => SystemSeconds + (SystemMicroseconds / 1e6);
    }

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    private static partial int SetsidNative();

    [LibraryImport("libc", EntryPoint = "getsid")]
    private static partial int GetsidNative(int pid);

    [LibraryImport("libc", EntryPoint = "wait4", SetLastError = true)]
    private static partial int Wait4Native(int pid, int* status, int options, Rusage* usage);

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetrusageNative(int who, Rusage* usage);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint SignalNative(int sig, nint handler);

    /// <summary>Orphaned descendants of the job are re-parented to us, not to init: we reap and count them.</summary>
    public static int BecomeSubreaper() => Prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>setsid() unless already a session leader.</summary>
    public static int EnsureSessionLeader()
    {
        if (GetsidNative(0) == Environment.ProcessId) return 0;
        return SetsidNative() >= 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>Restores SIGCHLD's default, so that nothing but our own wait4 reaps children.</summary>
    public static void DefaultSigchld() => SignalNative(SIGCHLD, 0);

    /// <summary>wait4(2): the pid reaped, 0 when none is ready (WNOHANG), -1 with the errno.</summary>
    public static int Wait4(int pid, out int status, int options, out int errno)
    {
        int s = 0;
        int r;
        do
        {
            r = Wait4Native(pid, &s, options, null);
            errno = r < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        while (r < 0 && errno == 4); // EINTR
        status = s;
        return r;
    }

    /// <summary>Resource use of every child that has been waited for, and of their waited-for descendants.</summary>
    public static Rusage ChildrenUsage()
    {
        Rusage u;
        _ = GetrusageNative(RUSAGE_CHILDREN, &u);
        return u;
    }

    public static string Strerror(int errno) => LocalNative.Strerror(errno);

    /// <summary>Starts the job: see <see cref="PosixSpawn.Start"/> (own session, default signals, stdin /dev/null). Returns 0 and the pid, or the errno.</summary>
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> envp,
        string stdoutPath, string stderrPath, out int pid) =>
        PosixSpawn.Start(path, argv, envp, stdinFd: null, stdoutPath, stderrPath, out pid);

    /// <summary>Decodes a wait status: (exit code, signal) — one of them set.</summary>
    public static (int? ExitCode, int? Signal) DecodeStatus(int status)
    {
        var sig = status & 0x7f;
        if (sig == 0) return ((status >> 8) & 0xff, null);
        return (null, sig);
    }
}
