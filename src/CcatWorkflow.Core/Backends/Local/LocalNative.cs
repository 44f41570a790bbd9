using System.Runtime.InteropServices;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// The few libc calls the Local backend and its runner need that .NET does not expose:
/// signalling a process group, advisory file locks that do not depend on .NET's own FileShare
/// emulation (which an environment variable can switch off), and raw reads of /proc files.
/// </summary>
internal static partial class LocalNative
{
    public const int SIGHUP = 1, SIGINT = 2, SIGKILL = 9, SIGTERM = 15, SIGCONT = 18;

    public const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;

    public const int EPERM = 1, ESRCH = 3, EINTR = 4, ECHILD = 10, EWOULDBLOCK = 11, EEXIST = 17, EOPNOTSUPP = 95;

    private const int O_RDONLY = 0, O_CLOEXEC = 0x80000;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillNative(int pid, int sig);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int FlockNative(nint fd, int operation);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadNative(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkNative(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int CloseNative(int fd);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static unsafe partial int WaitpidNative(int pid, int* status, int options);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static unsafe partial int Pipe2Native(int* fds, int flags);

    /// <summary>pipe2(O_CLOEXEC): a pipe no spawned process inherits unless given it explicitly. Returns 0 or the errno.</summary>
    public static unsafe int Pipe(out int readFd, out int writeFd)
    {
        var fds = stackalloc int[2];
        var r = Pipe2Native(fds, O_CLOEXEC);
        readFd = fds[0];
        writeFd = fds[1];
        return r == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>close(2), errors ignored.</summary>
    public static void Close(int fd) => _ = CloseNative(fd);

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int FallocateNative(nint fd, int mode, long offset, long length);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrerrorNative(int errnum);

    /// <summary>strerror(3).</summary>
    public static string Strerror(int errno) => Marshal.PtrToStringUTF8(StrerrorNative(errno)) ?? $"errno {errno}";

    /// <summary>
    /// waitpid(pid, WNOHANG) on a child of this process: true when it has ended and is reaped now
    /// (or is no child of ours any more), false while it runs.
    /// </summary>
    public static unsafe bool TryReap(int pid)
    {
        int status;
        int r;
        do
        {
            r = WaitpidNative(pid, &status, 1 /* WNOHANG */);
        }
        while (r < 0 && Marshal.GetLastPInvokeError() == EINTR);
        return r != 0;
    }

    /// <summary>kill(2); returns 0 or the errno.</summary>
    public static int Kill(int pid, int signal) => KillNative(pid, signal) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>link(2); returns 0 or the errno (EEXIST when the new name exists).</summary>
    public static int Link(string oldPath, string newPath) => LinkNative(oldPath, newPath) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>fallocate(2) of the first <paramref name="length"/> bytes of an open file (mode 0: allocate, grow the size); returns 0 or the errno.</summary>
    public static int Fallocate(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long length)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int r;
            do
            {
                r = FallocateNative(handle.DangerousGetHandle(), 0, 0, length) == 0 ? 0 : Marshal.GetLastPInvokeError();
            }
            while (r == EINTR);
            return r;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>flock(2) on an open file; returns 0 or the errno.</summary>
    public static int Flock(Microsoft.Win32.SafeHandles.SafeFileHandle handle, int operation)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return FlockNative(handle.DangerousGetHandle(), operation) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Reads a small file (a /proc entry) into <paramref name="buffer"/> without .NET's
    /// FileStream machinery: the sampler reads hundreds of these a second. Returns the byte
    /// count, or -1 when the file cannot be opened (the process is gone).
    /// </summary>
    public static unsafe int ReadSmallFile(string path, Span<byte> buffer)
    {
        var fd = OpenNative(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        try
        {
            var total = 0;
            fixed (byte* p = buffer)
            {
                while (total < buffer.Length)
                {
                    var n = ReadNative(fd, p + total, buffer.Length - total);
                    if (n < 0)
                    {
                        if (Marshal.GetLastPInvokeError() == EINTR) continue;
                        return -1;
                    }

                    if (n == 0) break;
                    total += (int)n;
                }
            }

            return total;
        }
        finally
        {
            _ = CloseNative(fd);
        }
    }
}
