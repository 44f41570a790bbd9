using System.Runtime.InteropServices;
using System.Text;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// posix_spawn(3) as the Local backend starts processes: the runner (from the module) and the
/// job (from the runner). One call, no intermediate shell: the new process leads a session of
/// its own (no controlling terminal, so closing the submitting terminal cannot signal it, and
/// its whole tree can be signalled as one), every signal at its default disposition and none
/// blocked (.NET ignores SIGPIPE; a child must not inherit that), stdin from /dev/null or the
/// given descriptor, and stdout/stderr appended to the given files.
/// </summary>
internal static unsafe partial class PosixSpawn
{
    private const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;
    private const int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_APPEND = 0x400;

    // glibc's opaque types, with room to spare (x86_64: 80, 336 and 128 bytes).
    private const int FileActionsSize = 512, SpawnAttrSize = 1024, SigSetSize = 256;

    [LibraryImport("libc")]
    private static partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_addopen(void* fileActions, int fd, byte* path, int oflag, uint mode);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_adddup2(void* fileActions, int fd, int newFd);

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

    /// <summary>
    /// Starts <paramref name="path"/> with <paramref name="argv"/> and <paramref name="envp"/>
    /// (<c>NAME=value</c> entries) as described above; <paramref name="stdinFd"/> null means
    /// /dev/null. Returns 0 and the pid, or the errno — also when the program could not be
    /// executed (glibc reports a failed exec to the caller). <paramref name="reportFd"/>, when
    /// given, is handed on as descriptor <see cref="RunnerStartReport.ChildFd"/> (the runner's
    /// start report); nothing else is inherited beyond 0-2.
    /// </summary>
    public static int Start(string path, IReadOnlyList<string> argv, IReadOnlyList<string> envp,
        int? stdinFd, string stdoutPath, string stderrPath, out int pid, int? reportFd = null)
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
            // glibc's init/destroy and sig*set only fill or free memory we allocated: they return 0
            // (sig*set fails only on a null set). Their results are not worth a branch each.
            _ = posix_spawn_file_actions_init(actions);
            _ = posix_spawnattr_init(attr);
            try
            {
                var err = stdinFd is { } input
                    ? posix_spawn_file_actions_adddup2(actions, input, 0) // dup2 clears close-on-exec on fd 0
                    : posix_spawn_file_actions_addopen(actions, 0, Utf8("/dev/null"), O_RDONLY, 0);
                if (err == 0) err = posix_spawn_file_actions_addopen(actions, 1, Utf8(stdoutPath), O_WRONLY | O_CREAT | O_APPEND, 0x180); // 0600: logs are the owner's
                if (err == 0) err = posix_spawn_file_actions_addopen(actions, 2, Utf8(stderrPath), O_WRONLY | O_CREAT | O_APPEND, 0x180); // 0600: logs are the owner's
                if (err == 0 && reportFd is { } report) err = posix_spawn_file_actions_adddup2(actions, report, RunnerStartReport.ChildFd); // dup2 clears close-on-exec
                _ = sigfillset(all);
                _ = sigemptyset(none);
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
                _ = posix_spawn_file_actions_destroy(actions);
                _ = posix_spawnattr_destroy(attr);
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
}
