using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;
using CcatWorkflow.Core.Logs;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace CcatWorkflow.Core.Backends.Slurm.Ssh;

/// <summary>
/// The job folders on the login node: written by remote commands (the script streamed through
/// standard input, folders 0700 and files 0600 by umask), written, submitted and linked in one
/// remote command per submission, found (with their job.json) by one remote command per batch of ids, removed by one
/// remote command per batch (every mark checked on the login node), and logs read over SFTP by
/// byte offsets — a tail reads only the file's end, a follow only what was appended.
/// </summary>
public sealed class SshSlurmJobFiles(SshConnection connection, string root) : ISlurmSubmittingJobFiles
{
    private static readonly TimeSpan FileTimeout = TimeSpan.FromMinutes(2);

    /// <summary>What the submit command prints once the folder is written (before sbatch runs).</summary>
    public const string PreparedMarker = "@@ccat-prepared";

    private readonly SlurmJobDirectory _layout = new(root);

    /// <inheritdoc />
    public string Root => _layout.Root;

    /// <summary>The connection the folders are reached over.</summary>
    public SshConnection Connection => connection;

    /// <summary>
    /// The one remote command of a submission: writes the folder (umask 077: 0700 and 0600),
    /// reads the secrets block and then the script from standard input (<see cref="SubmitInput"/>),
    /// prints <see cref="PreparedMarker"/>, runs <paramref name="sbatch"/> with the secrets in its
    /// environment only, prints sbatch's output, and links the id it printed — taken by
    /// <see cref="SlurmJobId.ParseSbatchOutput"/>'s rule: the last non-empty line, up to ';' — or
    /// deletes the folder when there is none. Exits with sbatch's code. Every path is one
    /// <see cref="ShellQuoting.Quote"/>d word.
    /// </summary>
    public static string SubmitText(string root, string folderName, SlurmJobMetadata metadata, SlurmCommandLine sbatch)
    {
        ArgumentNullException.ThrowIfNull(sbatch);
        var folder = SlurmJobFolder.Join(root, folderName);
        var r = ShellQuoting.Quote(root);
        var f = ShellQuoting.Quote(folder);
        string In(string name) => ShellQuoting.Quote(SlurmJobFolder.Join(folder, name));
        return "umask 077 && mkdir -p -- " + r + " && mkdir -- " + f + " || exit 125; "
            // The secrets block's length, then the block (read byte by byte: never past it), then the script.
            + "IFS= read -r n && s=$(dd bs=1 count=\"$n\" 2>/dev/null) && cat > " + In(SlurmJobDirectory.ScriptFile)
            + " && printf '%s' " + ShellQuoting.Quote(SlurmJobDirectory.SerializeMetadata(metadata)) + " > " + In(SlurmJobDirectory.MetadataFile)
            // Made now, 0600, so that Slurm (which truncates an existing file and keeps its mode)
            // does not create them with the job's umask.
            + " && : > " + In(SlurmJobDirectory.StdoutFile) + " && : > " + In(SlurmJobDirectory.StderrFile)
            + " || { rm -rf -- " + f + "; exit 125; }; "
            + "echo " + PreparedMarker + "; "
            + "o=$( " + SshSlurmShell.CommandText(sbatch, "s") + " </dev/null); r=$?; printf '%s\\n' \"$o\"; "
            + "i=$(printf '%s\\n' \"$o\" | awk 'NF { l = $0 } END { sub(/;.*/, \"\", l); gsub(/^[ \\t\\r]+|[ \\t\\r]+$/, \"\", l); print l }'); "
            + "if [ $r -eq 0 ] && printf '%s\\n' \"$i\" | grep -Eqx '[0-9]{1,10}(_[0-9]{1,10})?(\\+[0-9]{1,5})?'; then "
            + "ln -sfn -- " + ShellQuoting.Quote(folderName) + " " + r + "/\"$i\" || echo \"ccat: the folder could not be linked to job $i\" >&2; "
            + "else rm -rf -- " + f + "; fi; exit $r";
    }

    /// <summary>The submit command's standard input: the secrets block's byte count on a line, the block (<see cref="SshSlurmShell.SecretsInput"/>), then the script.</summary>
    public static byte[] SubmitInput(string script, SlurmCommandLine sbatch)
    {
        var secrets = SshSlurmShell.SecretsInput(sbatch) ?? [];
        var utf8 = new UTF8Encoding(false);
        return [.. utf8.GetBytes(secrets.Length.ToString(CultureInfo.InvariantCulture) + "\n"), .. secrets, .. utf8.GetBytes(script)];
    }

    /// <inheritdoc />
    public async Task<CommandResult> PrepareSubmitAndLinkAsync(SlurmSubmitRequest request, SlurmCommandLine sbatch, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // Not run twice after a broken connection: Slurm may have accepted the job.
        var (code, output, error, duration) = await connection.ExecAsync(SubmitText(Root, request.FolderName, request.Metadata, sbatch),
            SubmitInput(request.Script, sbatch), timeout, retryOnBrokenConnection: false, cancellationToken, "job folder, sbatch and link").ConfigureAwait(false);
        var text = Encoding.UTF8.GetString(output);
        if (!text.StartsWith(PreparedMarker + "\n", StringComparison.Ordinal))
        {
            throw new CcatException(CcatErrorId.InvalidConfiguration,
                $"Cannot write the job folder '{request.Folder}' on {connection.Settings.Host} (SLURM_JOB_DIR, default <PIPELINE_BASE_DIR>/.ccat-slurm): {SlurmCommands.FirstLines(error)}");
        }

        return new CommandResult(code, text[(PreparedMarker.Length + 1)..], error, duration);
    }

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
            await connection.ExecAsync("rm -rf -- " + ShellQuoting.Quote(folder), null, FileTimeout, true, cancellationToken, "delete an unsubmitted job folder").ConfigureAwait(false);
        }
        catch (CcatException)
        {
            // Best effort: without the id link nothing refers to the folder.
        }
    }

    /// <summary>
    /// The one remote command that removes the folders of <paramref name="linkIds"/>: for each
    /// id, the link <c>&lt;root&gt;/&lt;id&gt;</c> must lead to one of the module's folder names directly
    /// under the root, which must be a real directory (not a link) owned by the login user and
    /// hold a regular <c>job.json</c> carrying the tag; then the link and the folder are deleted
    /// (rm does not follow links inside it). Prints one tab-separated line per id:
    /// id, removed|notfound|notours|failed, folder, why.
    /// </summary>
    public static string RemoveText(string root, IReadOnlyList<string> linkIds)
    {
        ArgumentNullException.ThrowIfNull(linkIds);
        var r = ShellQuoting.Quote(root);
        var tag = ShellQuoting.Quote("\"tag\": \"" + SlurmOptions.Tag + "\"");
        var meta = SlurmJobDirectory.MetadataFile;
        return "p() { printf '%s\\t%s\\t%s\\t%s\\n' \"$1\" \"$2\" \"$3\" \"$4\"; }; "
            + "cd -- " + r + " 2>/dev/null || { for i in " + ShellQuoting.Join(linkIds) + "; do p \"$i\" notfound; done; exit 0; }; "
            + "for i in " + ShellQuoting.Join(linkIds) + "; do "
            + "t=$(readlink -- \"$i\") || { p \"$i\" notfound; continue; }; n=${t##*/}; "
            + "case $n in [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z-*) ;; *) p \"$i\" notfound; continue ;; esac; "
            + "case $t in /*) f=$t ;; *) f=" + r + "/$t ;; esac; "
            + "if [ \"$f\" != " + r + "/\"$n\" ] || [ -L \"$n\" ] || [ ! -d \"$n\" ] || [ ! -O \"$n\" ] || [ -L \"$n/" + meta + "\" ] || [ ! -f \"$n/" + meta + "\" ] "
            + "|| ! grep -qF -- " + tag + " \"$n/" + meta + "\"; then p \"$i\" notours \"$f\"; continue; fi; "
            // The link first: without it nothing leads to the folder, so a half-done removal leaves no job that looks alive.
            + "if e=$(rm -f -- \"$i\" 2>&1 && rm -rf -- \"$n\" 2>&1); then p \"$i\" removed \"$f\"; else p \"$i\" failed \"$f\" \"$(printf '%s' \"$e\" | tr '\\t\\n' '  ')\"; fi; "
            + "done; exit 0";
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, SlurmFolderRemoval>> RemoveAsync(IReadOnlyList<string> linkIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(linkIds);
        var ids = linkIds.Where(SlurmJobId.IsValid).Distinct(StringComparer.Ordinal).ToList();
        var outcomes = new Dictionary<string, SlurmFolderRemoval>(StringComparer.Ordinal);
        foreach (var id in linkIds.Where(i => !SlurmJobId.IsValid(i))) outcomes[id] = new SlurmFolderRemoval(SlurmFolderRemovalOutcome.NotFound);
        if (ids.Count == 0) return outcomes;
        var (code, output, error, _) = await connection.ExecAsync(RemoveText(Root, ids), null, FileTimeout, true, cancellationToken, $"remove {ids.Count} job folder{(ids.Count == 1 ? "" : "s")}").ConfigureAwait(false);
        foreach (var line in Encoding.UTF8.GetString(output).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            if (f.Length < 4 || !ids.Contains(f[0], StringComparer.Ordinal)) continue;
            var folder = f[2].Length > 0 ? f[2] : null;
            outcomes[f[0]] = f[1] switch
            {
                "removed" => new SlurmFolderRemoval(SlurmFolderRemovalOutcome.Removed, folder),
                "notours" => new SlurmFolderRemoval(SlurmFolderRemovalOutcome.NotOurs, folder),
                "failed" => new SlurmFolderRemoval(SlurmFolderRemovalOutcome.Failed, folder, f[3]),
                _ => new SlurmFolderRemoval(SlurmFolderRemovalOutcome.NotFound),
            };
        }

        foreach (var id in ids.Where(i => !outcomes.ContainsKey(i)))
        {
            // The command ended before this id (it never does on its own): not known to be removed.
            outcomes[id] = new SlurmFolderRemoval(SlurmFolderRemovalOutcome.Failed, null,
                $"the remove command on {connection.Settings.Host} exited with code {code} before reaching it: {SlurmCommands.FirstLines(error)}");
        }

        return outcomes;
    }

    /// <summary>What <see cref="FindText"/> prints between the links and the metadata.</summary>
    public const string MetadataMarker = "@@ccat-metadata";

    /// <summary>
    /// The one remote command that finds the folders of <paramref name="jobIds"/> and reads their
    /// <c>job.json</c> with them: one <c>id target</c> line per link, then <see cref="MetadataMarker"/>,
    /// then every metadata file's lines as <c>grep -H</c> prints them (<c>target/job.json:line</c>;
    /// one process for all files). Only targets of plain characters are read (no ':' to split on,
    /// nothing the unquoted list could expand).
    /// </summary>
    public static string FindText(string root, IReadOnlyList<string> jobIds) =>
        "cd -- " + ShellQuoting.Quote(root) + " 2>/dev/null || exit 0; m=; for i in " + ShellQuoting.Join(jobIds)
        + "; do t=$(readlink -- \"$i\") || continue; printf '%s %s\\n' \"$i\" \"$t\"; "
        + "case $t in *[!A-Za-z0-9_./-]*) ;; *) case \"$m \" in *\" $t/" + SlurmJobDirectory.MetadataFile + " \"*) ;; *) m=\"$m $t/" + SlurmJobDirectory.MetadataFile + "\" ;; esac ;; esac; done; "
        + "echo " + MetadataMarker + "; [ -z \"$m\" ] || grep -aH '' -- $m 2>/dev/null; exit 0";

    // job.json texts read along with the links (FindText), by path: each is handed out once by
    // ReadSmallText, so nothing here goes stale, and the status call that needed the folders
    // needs no SFTP read per job. Bounded like the backend's own cache.
    private readonly ConcurrentDictionary<string, string> _prefetched = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, SlurmJobFolder>> FindAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, SlurmJobFolder>(StringComparer.Ordinal);
        if (jobIds.Count == 0) return found;
        var (_, output, _, _) = await connection.ExecAsync(FindText(Root, jobIds), null, FileTimeout, true, cancellationToken, $"find {jobIds.Count} job folder{(jobIds.Count == 1 ? "" : "s")}").ConfigureAwait(false);
        var (links, metadata) = ParseFind(Encoding.UTF8.GetString(output));
        var metadataPaths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, target) in links)
        {
            if (_layout.FolderOf(id, target) is not { } folder) continue;
            found[id] = folder;
            metadataPaths[target + "/" + SlurmJobDirectory.MetadataFile] = folder.MetadataPath;
        }

        if (_prefetched.Count > 20_000) _prefetched.Clear();
        foreach (var (file, text) in metadata)
        {
            if (metadataPaths.TryGetValue(file, out var path)) _prefetched[path] = text;
        }

        return found;
    }

    /// <summary>Splits <see cref="FindText"/>'s output into the links (id, target) and the metadata texts by the path grep printed.</summary>
    public static (IReadOnlyList<(string Id, string Target)> Links, IReadOnlyDictionary<string, string> Metadata) ParseFind(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var links = new List<(string, string)>();
        var texts = new Dictionary<string, StringBuilder>(StringComparer.Ordinal);
        var inMetadata = false;
        foreach (var line in output.Split('\n'))
        {
            if (!inMetadata)
            {
                if (line == MetadataMarker)
                {
                    inMetadata = true;
                    continue;
                }

                var space = line.IndexOf(' ');
                if (space > 0) links.Add((line[..space], line[(space + 1)..]));
                continue;
            }

            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var file = line[..colon];
            if (!texts.TryGetValue(file, out var text)) texts[file] = text = new StringBuilder();
            text.Append(line, colon + 1, line.Length - colon - 1).Append('\n');
        }

        return (links, texts.ToDictionary(kv => kv.Key, kv => kv.Value.ToString(), StringComparer.Ordinal));
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
    public string? ReadSmallText(string path) =>
        _prefetched.TryRemove(path, out var text) ? text : ReadEnd(path, 1024 * 1024);

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
