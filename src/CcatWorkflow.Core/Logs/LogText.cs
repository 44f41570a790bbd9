using System.Text;

namespace CcatWorkflow.Core.Logs;

/// <summary>Reading log files: whole, or only their end without reading the whole file.</summary>
public static class LogText
{
    /// <summary>The last <paramref name="lines"/> lines of <paramref name="text"/>.</summary>
    public static string TailLines(string text, int lines)
    {
        if (lines <= 0) return "";
        var end = text.Length;
        if (end > 0 && text[end - 1] == '\n') end--; // a trailing newline ends the last line, it does not start one
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
    /// Reads a file's text, or only its last <paramref name="tail"/> lines by reading backwards
    /// from the end in blocks, so a multi-gigabyte log costs only what is returned.
    /// A missing file reads as empty (the job may not have written yet).
    /// </summary>
    public static async Task<string> ReadFileAsync(string path, int? tail, CancellationToken cancellationToken)
    {
        if (!File.Exists(path)) return "";
        if (tail is null)
        {
            return await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }

        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
        const int block = 64 * 1024;
        var length = fs.Length;
        var pos = length;
        var buffer = new List<byte[]>();
        var newlines = 0;
        var trailingChecked = false;
        while (pos > 0)
        {
            var size = (int)Math.Min(block, pos);
            pos -= size;
            var chunk = new byte[size];
            fs.Position = pos;
            await fs.ReadExactlyAsync(chunk, cancellationToken).ConfigureAwait(false);
            buffer.Insert(0, chunk);
            for (var i = size - 1; i >= 0; i--)
            {
                if (chunk[i] != (byte)'\n') continue;
                if (!trailingChecked && pos + i == length - 1) continue; // final newline
                newlines++;
            }

            trailingChecked = true;
            if (newlines >= tail.Value) break;
        }

        var text = Encoding.UTF8.GetString(buffer.SelectMany(b => b).ToArray());
        return TailLines(text, tail.Value);
    }
}
