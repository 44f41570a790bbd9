using System.Text;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;
using CcatWorkflow.Core.Logs;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace CcatWorkflow.Core.Backends.Slurm.Ssh;

/// <summary>
/// The job folders on the login node: written by remote commands (the script streamed through
/// standard input, folders 0700 and files 0600 by umask), found by one remote readlink per
/// batch of ids, and logs read over SFTP by byte offsets — a tail reads only the file's end,
/// a follow only what was appended.
/// </summary>
public sealed class SshSlurmJobFiles(SshConnection connection, string root) : ISlurmJobFiles
{
    private static readonly TimeSpan FileTimeout = TimeSpan.FromMinutes(2);
    private readonly SlurmJobDirectory _layout = new(root);

    /// <inheritdoc />
    public string Root => _layout.Root;

    /// <inheritdoc />
    public async Task PrepareAsync(string folderName, string script, SlurmJobMetadata metadata, CancellationToken cancellationToken)
    {
        var folder = _layout.PathOf(folderName);
        var text = "umask 077 && mkdir -p -- " + ShellQuoting.Quote(Root) + " && mkdir -- " + ShellQuoting.Quote(folder)
            + " && cat > " + ShellQuoting.Quote(SlurmJobFolder.Join(folder, SlurmJobDirectory.ScriptFile))
            + " && printf '%s' " + ShellQuoting.Quote(SlurmJobDirectory.SerializeMetadata(metadata))
            + " > " + ShellQuoting.Quote(SlurmJobFolder.Join(folder, SlurmJobDirectory.MetadataFile))
            // Made now, 0600, so that Slurm (which truncates an existing file and keeps its mode)
            // does not create them with the job's umask.
            + " && : > " + ShellQuoting.Quote(SlurmJobFolder.Join(folder, SlurmJobDirectory.StdoutFile))
            + " && : > " + ShellQuoting.Quote(SlurmJobFolder.Join(folder, SlurmJobDirectory.StderrFile));
        var (code, _, error, _) = await connection.ExecAsync(text, new UTF8Encoding(false).GetBytes(script), FileTimeout, true, cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            await DeleteAsync(folder, CancellationToken.None).ConfigureAwait(false);
            throw new CcatException(CcatErrorId.InvalidConfiguration,
                $"Cannot write the job folder '{folder}' on {connection.Settings.Host} (SLURM_JOB_DIR, default <PIPELINE_BASE_DIR>/.ccat-slurm): {SlurmCommands.FirstLines(error)}");
        }
    }

    /// <inheritdoc />
    public async Task LinkAsync(string jobId, string folderName, CancellationToken cancellationToken)
    {
        var (code, _, error, _) = await connection.ExecAsync(
            "ln -sfn -- " + ShellQuoting.Quote(folderName) + " " + ShellQuoting.Quote(SlurmJobFolder.Join(Root, jobId)),
            null, FileTimeout, true, cancellationToken).ConfigureAwait(false);
        if (code != 0) throw new IOException($"ln on {connection.Settings.Host}: {SlurmCommands.FirstLines(error)}");
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string folder, CancellationToken cancellationToken)
    {
        try
        {
            await connection.ExecAsync("rm -rf -- " + ShellQuoting.Quote(folder), null, FileTimeout, true, cancellationToken).ConfigureAwait(false);
        }
        catch (CcatException)
        {
            // Best effort: without the id link nothing refers to the folder.
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, SlurmJobFolder>> FindAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, SlurmJobFolder>(StringComparer.Ordinal);
        if (jobIds.Count == 0) return found;
        var text = "cd -- " + ShellQuoting.Quote(Root) + " 2>/dev/null || exit 0; for i in " + ShellQuoting.Join(jobIds)
            + "; do t=$(readlink -- \"$i\") && printf '%s %s\\n' \"$i\" \"$t\"; done; exit 0";
        var (_, output, _, _) = await connection.ExecAsync(text, null, FileTimeout, true, cancellationToken).ConfigureAwait(false);
        foreach (var line in Encoding.UTF8.GetString(output).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var space = line.IndexOf(' ');
            if (space <= 0) continue;
            var id = line[..space];
            if (_layout.FolderOf(id, line[(space + 1)..]) is { } folder) found[id] = folder;
        }

        return found;
    }

    /// <inheritdoc />
    public string? ReadEnd(string path, int bytes)
    {
        try
        {
            return connection.SftpAsync(async sftp =>
            {
                await using var stream = await sftp.OpenAsync(path, FileMode.Open, FileAccess.Read, CancellationToken.None).ConfigureAwait(false);
                var length = stream.Length;
                var start = Math.Max(0, length - bytes);
                return await ReadRangeAsync(stream, start, length, CancellationToken.None).ConfigureAwait(false);
            }, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is SftpPathNotFoundException or SftpPermissionDeniedException or SshException or CcatException or IOException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public string? ReadSmallText(string path) => ReadEnd(path, 1024 * 1024);

    /// <inheritdoc />
    public async Task<string> ReadLogAsync(string path, int? tail, CancellationToken cancellationToken)
    {
        try
        {
            return await connection.SftpAsync(async sftp =>
            {
                await using var stream = await sftp.OpenAsync(path, FileMode.Open, FileAccess.Read, cancellationToken).ConfigureAwait(false);
                var length = stream.Length;
                var start = tail is { } n ? await LogText.FindTailStartAsync(stream, length, n, cancellationToken).ConfigureAwait(false) : 0;
                return await ReadRangeAsync(stream, start, length, cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (SftpPathNotFoundException)
        {
            return ""; // the job has not written yet
        }
        catch (Exception ex) when (ex is SftpPermissionDeniedException or SshException)
        {
            throw new IOException($"{path} on {connection.Settings.Host}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public ISlurmLogFollower Follow(string path, int? tail) => new SftpLogFollower(connection, path, tail);

    /// <summary>Decodes bytes [start, end) of a remote file (a BOM at 0 is dropped); at most <see cref="LogText.MaxReadBytes"/>.</summary>
    internal static async Task<string> ReadRangeAsync(Stream stream, long start, long end, CancellationToken cancellationToken)
    {
        if (end <= start) return "";
        if (end - start > LogText.MaxReadBytes)
        {
            throw new CcatException(CcatErrorId.LogUnavailable,
                $"The log holds {(end - start) / (1024 * 1024)} MiB to return, more than the {LogText.MaxReadBytes / (1024 * 1024)} MiB one read returns; read its end with a tail.");
        }

        var bytes = await ReadBytesAsync(stream, start, end, cancellationToken).ConfigureAwait(false);
        var span = bytes.AsSpan();
        if (start == 0 && span.StartsWith(Encoding.UTF8.Preamble)) span = span[3..];
        return Encoding.UTF8.GetString(span);
    }

    internal static async Task<byte[]> ReadBytesAsync(Stream stream, long start, long end, CancellationToken cancellationToken)
    {
        var bytes = new byte[end - start];
        stream.Position = start;
        var read = 0;
        while (read < bytes.Length)
        {
            var n = await stream.ReadAsync(bytes.AsMemory(read), cancellationToken).ConfigureAwait(false);
            if (n == 0) break; // truncated meanwhile
            read += n;
        }

        return read == bytes.Length ? bytes : bytes[..read];
    }

    private sealed class SftpLogFollower(SshConnection connection, string path, int? tail) : ISlurmLogFollower
    {
        private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
        private int? _tail = tail;
        private long _position;

        public async Task<string> ReadNewAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await connection.SftpAsync(async sftp =>
                {
                    await using var stream = await sftp.OpenAsync(path, FileMode.Open, FileAccess.Read, cancellationToken).ConfigureAwait(false);
                    var length = stream.Length;
                    if (length < _position) _position = 0; // cut shorter: read again from the start
                    if (_tail is { } n)
                    {
                        _position = await LogText.FindTailStartAsync(stream, length, n, cancellationToken).ConfigureAwait(false);
                        _tail = null;
                    }

                    if (length == _position) return "";
                    var end = Math.Min(length, _position + 4 * 1024 * 1024); // bounded reads; the caller drains
                    var bytes = await ReadBytesAsync(stream, _position, end, cancellationToken).ConfigureAwait(false);
                    var skip = _position == 0 && bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? 3 : 0;
                    _position += bytes.Length;
                    var chars = new char[_decoder.GetCharCount(bytes, skip, bytes.Length - skip, flush: false)];
                    _decoder.GetChars(bytes, skip, bytes.Length - skip, chars, 0, flush: false);
                    return new string(chars);
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (SftpPathNotFoundException)
            {
                return ""; // not written yet
            }
        }

        public void Dispose()
        {
        }
    }
}
