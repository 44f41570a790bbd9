using System.Runtime.InteropServices;
using System.Text;

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
    private const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;
    private const int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_APPEND = 0x400;

    // glibc's opaque types, with room to spare (x86_64: 80, 336 and 128 bytes).
    private const int FileActionsSize = 512, SpawnAttrSize = 1024, SigSetSize = 256;

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

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrerrorNative(int errnum);

    [LibraryImport("libc")]
    private static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_addopen(void* fileActions, int fd, byte* path, int oflag, uint mode);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_init(void* attr);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigdefault(void* attr, void* sigset);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigmask(void* attr, void* sigset);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport("libc")]
    private static partial int sigfillset(void* set);

    [LibraryImport("libc")]
    private static partial int sigemptyset(void* set);

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

    public static string Strerror(int errno) => Marshal.PtrToStringUTF8(StrerrorNative(errno)) ?? $"errno {errno}";

    /// <summary>
    /// Starts <paramref name="path"/> with <paramref name="argv"/> and <paramref name="envp"/> as
    /// the leader of a new session (so its whole tree can be signalled as one), every signal at
    /// its default disposition and none blocked (.NET ignores SIGPIPE; the job must not inherit
    /// that), stdin from /dev/null and stdout/stderr appended to the given files. Returns 0 and
    /// the pid, or the errno.
    /// </summary>
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> envp,
        string stdoutPath, string stderrPath, out int pid)
    {
        var allocations = new List<nint>();
        byte* Utf8(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            var p = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
            bytes.CopyTo(new Span<byte>(p, bytes.Length));
            p[bytes.Length] = 0;
            allocations.Add((nint)p);
            return p;
        }

        byte** Vector(IReadOnlyList<string> items)
        {
            var v = (byte**)NativeMemory.AllocZeroed((nuint)(items.Count + 1), (nuint)sizeof(byte*));
            allocations.Add((nint)v);
            for (var i = 0; i < items.Count; i++) v[i] = Utf8(items[i]);
            return v;
        }

        var actions = NativeMemory.AllocZeroed(FileActionsSize);
        var attr = NativeMemory.AllocZeroed(SpawnAttrSize);
        var all = NativeMemory.AllocZeroed(SigSetSize);
        var none = NativeMemory.AllocZeroed(SigSetSize);
        try
        {
            posix_spawn_file_actions_init(actions);
            posix_spawnattr_init(attr);
            try
            {
                var err = posix_spawn_file_actions_addopen(actions, 0, Utf8("/dev/null"), O_RDONLY, 0);
                if (err == 0) err = posix_spawn_file_actions_addopen(actions, 1, Utf8(stdoutPath), O_WRONLY | O_CREAT | O_APPEND, 0x180);
                if (err == 0) err = posix_spawn_file_actions_addopen(actions, 2, Utf8(stderrPath), O_WRONLY | O_CREAT | O_APPEND, 0x180);
                sigfillset(all);
                sigemptyset(none);
                if (err == 0) err = posix_spawnattr_setsigdefault(attr, all);
                if (err == 0) err = posix_spawnattr_setsigmask(attr, none);
                if (err == 0) err = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
                if (err != 0)
                {
                    pid = 0;
                    return err;
                }

                int child;
                err = posix_spawn(&child, Utf8(path), actions, attr, Vector(argv), Vector(envp));
                pid = err == 0 ? child : 0;
                return err;
            }
            finally
            {
                posix_spawn_file_actions_destroy(actions);
                posix_spawnattr_destroy(attr);
            }
        }
        finally
        {
            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
            NativeMemory.Free(all);
            NativeMemory.Free(none);
            foreach (var p in allocations) NativeMemory.Free((void*)p);
        }
    }

    /// <summary>Decodes a wait status: (exit code, signal) — one of them set.</summary>
    public static (int? ExitCode, int? Signal) DecodeStatus(int status)
    {
        var sig = status & 0x7f;
        if (sig == 0) return ((status >> 8) & 0xff, null);
        return (null, sig);
    }
}
