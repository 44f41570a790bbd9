using System.Text;
using CcatWorkflow.Core.Logs;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>The job folders on this machine's file system (the CLI transport, on a login node).</summary>
public sealed class LocalSlurmJobFiles(string root) : ISlurmJobFiles
{
    private readonly SlurmJobDirectory _directory = new(root);

    /// <inheritdoc />
    public string Root => _directory.Root;

    /// <inheritdoc />
    public Task PrepareAsync(string folderName, string script, SlurmJobMetadata metadata, CancellationToken cancellationToken)
    {
        _directory.Prepare(folderName, script, metadata);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task LinkAsync(string jobId, string folderName, CancellationToken cancellationToken)
    {
        _directory.Link(jobId, folderName);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task DeleteAsync(string folder, CancellationToken cancellationToken)
    {
        SlurmJobDirectory.TryDelete(folder);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, SlurmJobFolder>> FindAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, SlurmJobFolder>(StringComparer.Ordinal);
        foreach (var id in jobIds)
        {
            if (_directory.Find(id) is { } folder) found[id] = folder;
        }

        return Task.FromResult<IReadOnlyDictionary<string, SlurmJobFolder>>(found);
    }

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, SlurmFolderRemoval>> RemoveAsync(IReadOnlyList<string> linkIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(linkIds);
        var outcomes = new Dictionary<string, SlurmFolderRemoval>(StringComparer.Ordinal);
        foreach (var id in linkIds.Distinct(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            outcomes[id] = RemoveOne(id);
        }

        return Task.FromResult<IReadOnlyDictionary<string, SlurmFolderRemoval>>(outcomes);
    }

    private SlurmFolderRemoval RemoveOne(string id)
    {
        if (!SlurmJobId.IsValid(id) || _directory.Find(id) is not { } folder) return new SlurmFolderRemoval(SlurmFolderRemovalOutcome.NotFound);
        var inRoot = string.Equals(Path.GetDirectoryName(folder.Path.TrimEnd('/')), Root.TrimEnd('/'), StringComparison.Ordinal);
        var dir = new DirectoryInfo(folder.Path);
        var metadata = new FileInfo(folder.MetadataPath);
        if (!inRoot || dir.LinkTarget is not null || !dir.Exists || metadata.LinkTarget is not null || !SlurmJobDirectory.CarriesTag(ReadSmallText(folder.MetadataPath)))
        {
            return new SlurmFolderRemoval(SlurmFolderRemovalOutcome.NotOurs, folder.Path);
        }

        try
        {
            // The link first: without it nothing leads to the folder, so a half-done removal
            // leaves no job that looks alive.
            File.Delete(Path.Combine(Root, id));
            Directory.Delete(folder.Path, recursive: true);
            return new SlurmFolderRemoval(SlurmFolderRemovalOutcome.Removed, folder.Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new SlurmFolderRemoval(SlurmFolderRemovalOutcome.Failed, folder.Path, ex.Message);
        }
    }

    /// <inheritdoc />
    public string? ReadEnd(string path, int bytes)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = (int)Math.Min(fs.Length, bytes);
            fs.Seek(-length, SeekOrigin.End);
            var buffer = new byte[length];
            fs.ReadExactly(buffer);
            return Encoding.UTF8.GetString(buffer);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public string? ReadSmallText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public Task<string> ReadLogAsync(string path, int? tail, CancellationToken cancellationToken) =>
        LogText.ReadFileAsync(path, tail, cancellationToken);

    /// <inheritdoc />
    public ISlurmLogFollower Follow(string path, int? tail) => new Follower(new LogFollower(path, tail));

    private sealed class Follower(LogFollower inner) : ISlurmLogFollower
    {
        public Task<string> ReadNewAsync(CancellationToken cancellationToken) => inner.ReadNewAsync(cancellationToken);

        public void Dispose() => inner.Dispose();
    }
}
