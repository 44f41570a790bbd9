using System.Text;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Logs;

/// <summary>Reading log files: whole, or only their end without reading the whole file.</summary>
public static class LogText
{
    private const int Block = 64 * 1024;

    /// <summary>The most a single read returns (512 MiB); past it, callers read with a tail.</summary>
    public const long MaxReadBytes = 512L * 1024 * 1024;

    /// <summary>
    /// The last <paramref name="lines"/> lines of <paramref name="text"/>. A trailing newline
    /// ends the last line; it does not start an empty one.
    /// </summary>
    public static string TailLines(string text, int lines)
    {
        if (lines <= 0) return "";
        var end = text.Length;
        if (end > 0 && text[end - 1] == '\n') end--;
        var count = 0;
        for (var i = end - 1; i >= 0; i--)
        {
            if (text[i] == '\n' && ++count == lines)
            {
                return text[(i + 1)..];
            }
        }

        return text;
    }

    /// <summary>
    /// The byte offset where the last <paramref name="lines"/> lines of the first
    /// <paramref name="length"/> bytes of <paramref name="file"/> begin (0 when it has fewer),
    /// found by scanning backwards from the end in blocks: a multi-gigabyte log costs only what
    /// is returned. Same line rule as <see cref="TailLines"/>. Newline bytes never occur inside
    /// a UTF-8 multi-byte sequence, so the offset is always on a character boundary.
    /// </summary>
    public static async Task<long> FindTailStartAsync(Stream file, long length, int lines, CancellationToken cancellationToken)
    {
        if (lines <= 0) return length;
        var buffer = new byte[Block];
        var pos = length;
        var count = 0;
        var first = true;
        while (pos > 0)
        {
            var size = (int)Math.Min(Block, pos);
            pos -= size;
            file.Position = pos;
            await file.ReadExactlyAsync(buffer.AsMemory(0, size), cancellationToken).ConfigureAwait(false);
            for (var i = size - 1; i >= 0; i--)
            {
                if (buffer[i] != (byte)'\n') continue;
                if (first && pos + i == length - 1) continue; // the final newline ends the last line
                if (++count == lines) return pos + i + 1;
            }

            first = false;
        }

        return 0;
    }

    /// <summary>
    /// Reads a file's text, or only its last <paramref name="tail"/> lines (see
    /// <see cref="FindTailStartAsync"/>). A missing file reads as empty (the job may not have
    /// written yet). The file may grow while it is read; what was there at the start is returned.
    /// </summary>
    public static async Task<string> ReadFileAsync(string path, int? tail, CancellationToken cancellationToken)
    {
        FileStream fs;
        try
        {
            fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
        }
        catch (FileNotFoundException)
        {
            return "";
        }
        catch (DirectoryNotFoundException)
        {
            return "";
        }

        await using (fs.ConfigureAwait(false))
        {
            var length = fs.Length;
            var start = tail is { } n ? await FindTailStartAsync(fs, length, n, cancellationToken).ConfigureAwait(false) : 0;
            return await ReadRangeAsync(fs, start, length, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Decodes the bytes [<paramref name="start"/>, <paramref name="end"/>) of a file as UTF-8 (a BOM at 0 is dropped).</summary>
    public static async Task<string> ReadRangeAsync(FileStream file, long start, long end, CancellationToken cancellationToken)
    {
        if (end <= start) return "";
        if (end - start > MaxReadBytes)
        {
            throw new CcatException(CcatErrorId.LogUnavailable,
                $"{file.Name} holds {(end - start) / (1024 * 1024)} MiB to return, more than the {MaxReadBytes / (1024 * 1024)} MiB one read returns; read its end with a tail.");
        }

        var bytes = new byte[end - start];
        file.Position = start;
        var read = 0;
        while (read < bytes.Length)
        {
            var n = await file.ReadAsync(bytes.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0) break; // truncated meanwhile
            read += n;
        }

        var span = bytes.AsSpan(0, read);
        if (start == 0 && span.StartsWith(Encoding.UTF8.Preamble)) span = span[3..];
        return Encoding.UTF8.GetString(span);
    }
}
