using System.Runtime.InteropServices;
using System.Text;
using CcatWorkflow.Core.Errors;
using Microsoft.Win32.SafeHandles;

namespace CcatWorkflow.Core.Configuration;

/// <summary>
/// Reads a settings or secrets file safely: only a regular file (a FIFO would hang every cmdlet,
/// <c>/dev/zero</c> would fill memory), at most <see cref="MaxBytes"/>, valid UTF-8. The file is
/// opened without blocking and its type checked on the open descriptor, so it cannot be swapped
/// between the check and the read.
/// </summary>
internal static partial class SettingsFileReader
{
    /// <summary>Largest settings file read (1 MiB: a settings file is a few kilobytes).</summary>
    public const int MaxBytes = 1024 * 1024;

    private const int ORdOnly = 0, ONonBlock = 0x800, OCloExec = 0x80000;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1, StatxSize = 0x200;
    private const int SIfMt = 0xF000, SIfReg = 0x8000, SIfDir = 0x4000, SIfIfo = 0x1000, SIfChr = 0x2000, SIfBlk = 0x6000, SIfSock = 0xC000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatxNative(int dirfd, string path, int flags, uint mask, byte* buffer);

    /// <summary>The file's text; anything but a readable regular UTF-8 file of at most <see cref="MaxBytes"/> is InvalidConfiguration.</summary>
    public static string ReadText(string path, string what)
    {
        CcatException Bad(string why, Exception? inner = null) =>
            new(CcatErrorId.InvalidConfiguration, $"{what} '{path}' {why}.", innerException: inner);

        var fd = OpenNative(path, ORdOnly | ONonBlock | OCloExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw Bad($"cannot be read: {new System.ComponentModel.Win32Exception(errno).Message}");
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var (mode, size) = Stat(fd);
        var type = mode & SIfMt;
        if (type != SIfReg)
        {
            throw Bad(type switch
            {
                SIfDir => "is a directory, not a file",
                SIfIfo => "is a FIFO (named pipe), not a regular file",
                SIfChr or SIfBlk => "is a device, not a regular file",
                SIfSock => "is a socket, not a regular file",
                _ => "is not a regular file",
            });
        }

        if (size > MaxBytes)
        {
            throw Bad($"is {size} bytes; a settings file may be at most {MaxBytes} bytes");
        }

        try
        {
            // Read at most one byte past the cap: the file may have grown since it was measured.
            var buffer = new byte[MaxBytes + 1];
            var total = 0;
            int n;
            while (total < buffer.Length && (n = RandomAccess.Read(handle, buffer.AsSpan(total), total)) > 0)
            {
                total += n;
            }

            if (total > MaxBytes)
            {
                throw Bad($"is larger than {MaxBytes} bytes");
            }

            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer, 0, total).TrimStart('\uFEFF');
        }
        catch (IOException ex)
        {
            throw Bad($"cannot be read: {ex.Message}", ex);
        }
        catch (DecoderFallbackException ex)
        {
            throw Bad("is not UTF-8 text", ex);
        }
    }

    private static unsafe (int Mode, long Size) Stat(int fd)
    {
        // struct statx is the same on every architecture: stx_mode (u16) at 28, stx_size (u64) at 40.
        var buffer = stackalloc byte[256];
        if (StatxNative(fd, "", AtEmptyPath, StatxType | StatxSize, buffer) != 0)
        {
            throw new CcatException(CcatErrorId.InvalidConfiguration,
                $"Cannot examine a settings file: {new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError()).Message}");
        }

        return (*(ushort*)(buffer + 28), *(long*)(buffer + 40));
    }
}
