using System.Text;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Whole-file writes that readers never see half done: the text goes to a temporary file in
/// the same directory, is flushed to disk, and is then renamed (replace) or hard-linked
/// (create-only: fails when the name exists, so the first writer wins) into place.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/>, replacing any previous file.</summary>
    public static void Replace(string path, string text)
    {
        var tmp = WriteTemporary(path, text);
        try
        {
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>
    /// Creates <paramref name="path"/> with <paramref name="text"/> unless it exists. Returns
    /// false (and leaves the existing file alone) when it does.
    /// </summary>
    public static bool CreateNew(string path, string text)
    {
        var tmp = WriteTemporary(path, text);
        try
        {
            var err = LocalNative.Link(tmp, path);
            if (err == 0) return true;
            if (err == LocalNative.EEXIST) return false;

            // A file system without hard links: check, then rename. Not atomic against a
            // concurrent creator, but such file systems do not hold job directories in practice.
            if (File.Exists(path)) return false;
            File.Move(tmp, path, overwrite: false);
            return true;
        }
        finally
        {
            TryDelete(tmp);
        }
    }

    private static string WriteTemporary(string path, string text)
    {
        var dir = Path.GetDirectoryName(path) ?? ".";
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        using (var fs = new FileStream(tmp, SafeFile.Options0600(FileMode.CreateNew, FileAccess.Write, FileShare.None)))
        {
            fs.Write(Encoding.UTF8.GetBytes(text));
            fs.Flush(flushToDisk: true);
        }

        return tmp;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
