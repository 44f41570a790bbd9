using System.Runtime.InteropServices;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Careful file access for job directories that other users may have written: records are
/// opened with O_NOFOLLOW (a symlink to /dev/zero or to another user's file is refused), without
/// blocking (a FIFO cannot hang the reader), must be regular files, and are read only up to a
/// cap (a huge file cannot exhaust memory). Also the owner facts the kill rules need
/// (statx: who owns a folder; /proc: who runs a process) and the files the module creates,
/// which are 0600 (folders 0700) whatever the umask.
/// </summary>
internal static unsafe partial class SafeFile
{
    /// <summary>The size cap of a job record (record.json, job.json, runner.json, result.json, a cancel marker).</summary>
    public const int RecordCap = 1024 * 1024;

    /// <summary>rw------- for files the module creates.</summary>
    public const UnixFileMode FileMode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>rwx------ for folders the module creates.</summary>
    public const UnixFileMode DirectoryMode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const int ENOENT = 2, ENOTDIR = 20, ELOOP = 40, ENOSPC = 28, EROFS = 30, EDQUOT = 122;

    private const int O_RDONLY = 0, O_RDWR = 2, O_CREAT = 0x40, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000;
    private const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
    private const uint STATX_BASIC_STATS = 0x7ff;
    private const int S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000;

    /// <summary>O_NOFOLLOW differs between architectures.</summary>
    private static readonly int O_NOFOLLOW = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadNative(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int CloseNative(int fd);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxNative(int dirfd, string path, int flags, uint mask, byte* buffer);

    /// <summary>What statx says about a file.</summary>
    public readonly record struct Facts(uint Uid, uint Gid, int Mode, ulong Inode, ulong Size)
    {
        public bool IsRegular => (Mode & S_IFMT) == S_IFREG;

        public bool IsDirectory => (Mode & S_IFMT) == S_IFDIR;
    }

    /// <summary>statx of <paramref name="path"/> itself (a symlink is not followed); null when it does not exist.</summary>
    public static Facts? Stat(string path)
    {
        var buffer = stackalloc byte[256];
        if (StatxNative(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buffer) != 0) return null;
        return Decode(buffer);
    }

    private static Facts? FStat(int fd)
    {
        var buffer = stackalloc byte[256];
        if (StatxNative(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, buffer) != 0) return null;
        return Decode(buffer);
    }

    // struct statx: uid at 20, gid at 24, mode (u16) at 28, ino at 32, size at 40.
    private static Facts Decode(byte* b) =>
        new(*(uint*)(b + 20), *(uint*)(b + 24), *(ushort*)(b + 28), *(ulong*)(b + 32), *(ulong*)(b + 40));

    /// <summary>The owner (uid) of a folder, or null when it is not a folder (or is a symlink).</summary>
    public static uint? DirectoryOwner(string path) => Stat(path) is { IsDirectory: true } f ? f.Uid : null;

    /// <summary>
    /// Reads a whole small file: no symlink, regular files only, at most <paramref name="cap"/>
    /// bytes. Returns null when the file does not exist; throws <see cref="IOException"/> for a
    /// symlink, a FIFO, a device, a folder or a file over the cap.
    /// </summary>
    public static byte[]? ReadCapped(string path, int cap = RecordCap)
    {
        var fd = OpenNative(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
        if (fd < 0)
        {
            var err = Marshal.GetLastPInvokeError();
            if (err is ENOENT or ENOTDIR) return null;
            if (err == ELOOP) throw new IOException($"{path} is a symbolic link; job files must be regular files.");
            throw new IOException($"Cannot open {path}: {Marshal.PtrToStringUTF8(strerror(err))}.");
        }

        try
        {
            var facts = FStat(fd) ?? throw new IOException($"Cannot stat {path}.");
            if (!facts.IsRegular) throw new IOException($"{path} is not a regular file; job files must be regular files.");
            if (facts.Size > (ulong)cap) throw new IOException($"{path} is {facts.Size} bytes, more than the {cap} a job file may have.");
            // Sized by what fstat said (at least a page: /proc and cgroup files say 0; one byte
            // more, to see a file that grew meanwhile), not by the cap: a status of a thousand
            // jobs reads thousands of these files, and a megabyte buffer each was most of its
            // time (allocation, zeroing, collections).
            var buffer = new byte[(int)Math.Min(Math.Max(facts.Size, 4095UL), (ulong)cap) + 1];
            var total = 0;
            while (true)
            {
                if (total == buffer.Length)
                {
                    if (buffer.Length > cap) break; // cap + 1 bytes: over the cap
                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, cap + 1L));
                }

                nint n;
                fixed (byte* p = buffer)
                {
                    n = ReadNative(fd, p + total, buffer.Length - total);
                }

                if (n < 0)
                {
                    var err = Marshal.GetLastPInvokeError();
                    if (err == LocalNative.EINTR) continue;
                    throw new IOException($"Cannot read {path}: {Marshal.PtrToStringUTF8(strerror(err))}.");
                }

                if (n == 0) break;
                total += (int)n;
            }

            if (total > cap) throw new IOException($"{path} grew beyond the {cap} bytes a job file may have.");
            return total == buffer.Length ? buffer : buffer[..total];
        }
        finally
        {
            _ = CloseNative(fd);
        }
    }

    /// <summary>Reads a small text file as <see cref="ReadCapped"/> does (UTF-8).</summary>
    public static string? ReadCappedText(string path, int cap = RecordCap) =>
        ReadCapped(path, cap) is { } bytes ? System.Text.Encoding.UTF8.GetString(bytes) : null;

    /// <summary>
    /// Opens (creating it 0600 if needed) a file for a lock, without following a symlink.
    /// Returns the fd or -errno. <paramref name="inherit"/> leaves O_CLOEXEC off, so that
    /// processes started later inherit it.
    /// </summary>
    public static int OpenForLock(string path, bool create, bool inherit = false)
    {
        var flags = (create ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | (inherit ? 0 : O_CLOEXEC);
        var fd = OpenNative(path, flags, 0x180);
        return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
    }

    /// <summary>True when an fd refers to a regular file.</summary>
    public static bool IsRegularFile(int fd) => FStat(fd) is { IsRegular: true };

    /// <summary>close(2).</summary>
    public static void Close(int fd) => _ = CloseNative(fd);

    /// <summary>The text of an errno.</summary>
    public static string Strerror(int errno) => Marshal.PtrToStringUTF8(strerror(errno)) ?? $"errno {errno}";

    [LibraryImport("libc")]
    private static partial nint strerror(int errnum);

    /// <summary>
    /// Creates a folder and every missing parent with mode 0700 (existing ones are left as they
    /// are: a shared root keeps the mode its administrator gave it).
    /// </summary>
    public static void CreatePrivateDirectory(string path)
    {
        var missing = new Stack<string>();
        for (var p = Path.GetFullPath(path); !string.IsNullOrEmpty(p) && !Directory.Exists(p); p = Path.GetDirectoryName(p))
        {
            missing.Push(p);
        }

        while (missing.Count > 0)
        {
            CreateDirectory0700(missing.Pop());
        }
    }

    // The Local backend runs on Linux only (docs/local-backend.md): the Unix modes are always there.
#pragma warning disable CA1416

    /// <summary>Creates one folder, 0700 (nothing when it exists).</summary>
    public static void CreateDirectory0700(string path) => Directory.CreateDirectory(path, DirectoryMode0700);

    /// <summary>Options for a file the module creates: 0600.</summary>
    public static FileStreamOptions Options0600(FileMode mode, FileAccess access, FileShare share = FileShare.Read) =>
        new() { Mode = mode, Access = access, Share = share, UnixCreateMode = FileMode0600 };
#pragma warning restore CA1416

    /// <summary>
    /// The real and effective uid of a live process, from /proc/&lt;pid&gt;/status; null when it is
    /// gone or unreadable.
    /// </summary>
    public static (uint Real, uint Effective)? ProcessUids(int pid)
    {
        Span<byte> buffer = stackalloc byte[4096];
        var n = LocalNative.ReadSmallFile($"/proc/{pid.ToString(System.Globalization.CultureInfo.InvariantCulture)}/status", buffer);
        if (n <= 0) return null;
        var text = System.Text.Encoding.ASCII.GetString(buffer[..n]);
        var at = text.IndexOf("\nUid:", StringComparison.Ordinal);
        if (at < 0) return null;
        var end = text.IndexOf('\n', at + 1);
        var fields = text[(at + 5)..(end < 0 ? text.Length : end)].Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 2) return null;
        return uint.TryParse(fields[0], out var r) && uint.TryParse(fields[1], out var e) ? (r, e) : null;
    }
}
