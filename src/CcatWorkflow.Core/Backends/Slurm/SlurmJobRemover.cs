using System.Collections.Concurrent;
using System.Text.Json;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Campaign hygiene on Slurm: what was asked at submission (from the job folder's
/// <c>job.json</c>), listing jobs older than sacct's listing window (from the job folders), and
/// Remove-CcatJob (the job folder and its by-id link). The module's mark is the folder: named
/// <c>&lt;UTC time&gt;-&lt;random&gt;</c> directly under SLURM_JOB_DIR, reached through the link
/// <c>&lt;SLURM_JOB_DIR&gt;/&lt;id&gt;</c>, a real directory, with a <c>job.json</c> carrying the tag
/// <see cref="SlurmOptions.Tag"/>. Slurm's accounting record is the cluster's, and stays.
/// </summary>
public sealed partial class SlurmBackend
{
    // job.json never changes after submission: read once per folder. Bounded, so a long
    // session over many campaigns does not grow without limit.
    private const int MetadataCacheLimit = 20_000;
    private readonly ConcurrentDictionary<string, SlurmJobMetadata?> _metadata = new(StringComparer.Ordinal);

    private JobQueryResult WithSubmission(JobQueryResult result, SlurmJobFolder? folder) =>
        result.Info is { } info ? result with { Info = WithSubmission(info, folder) } : result;

    private HPCJobInfo WithSubmission(HPCJobInfo info, SlurmJobFolder? folder)
    {
        if (folder is null) return info;
        if (_metadata.Count > MetadataCacheLimit) _metadata.Clear();
        var m = _metadata.GetOrAdd(folder.Path, _ => ReadMetadata(folder));
        return info.WithSubmission(m?.Cpu, m?.MemoryGb, m?.TimeHours, m?.Gpu, m?.Command, folder.StdoutPath);
    }

    /// <summary>
    /// True for an accounting row of a job whose folder was removed (Remove-CcatJob): sacct keeps
    /// the row, but the module no longer lists the job.
    /// </summary>
    private bool IsRemoved(SacctJob job) =>
        Transport.Files is LocalSlurmJobFiles
        && job.WorkDir is { } wd
        && SlurmJobDirectory.SubmittedAtOf(Path.GetFileName(wd.TrimEnd('/'))) is not null
        && string.Equals(Path.GetDirectoryName(wd.TrimEnd('/')), Options.JobDirectory.TrimEnd('/'), StringComparison.Ordinal)
        && Directory.Exists(Options.JobDirectory)
        && !Directory.Exists(wd);

    /// <summary>
    /// The usual listing (sacct, <see cref="ListWindow"/> back) plus the jobs in the job
    /// directory submitted before both <paramref name="submittedBefore"/> and that window,
    /// whose status is then asked for by id (sacct from their own submit time).
    /// </summary>
    protected override async Task<IReadOnlyList<HPCJobInfo>> ListJobsIncludingOlderAsync(DateTimeOffset submittedBefore, CancellationToken cancellationToken)
    {
        var recent = await ListJobsAsync(cancellationToken).ConfigureAwait(false);
        var windowStart = DateTimeOffset.UtcNow - ListWindow;
        var cutoff = submittedBefore < windowStart ? submittedBefore : windowStart;
        var seen = recent.Select(i => i.JobId).ToHashSet(StringComparer.Ordinal);
        var older = (await OlderFolderJobIdsAsync(cutoff, cancellationToken).ConfigureAwait(false)).Where(id => !seen.Contains(id)).ToList();
        if (older.Count == 0) return recent;

        var found = new List<HPCJobInfo>(recent);
        foreach (var chunk in older.Chunk(QueryChunkSize))
        {
            var results = await GetStatusesAsync(chunk, cancellationToken).ConfigureAwait(false);
            found.AddRange(results.Select(r => r.Info).OfType<HPCJobInfo>());
        }

        return found.OrderByDescending(i => i.SubmittedAt ?? DateTimeOffset.MinValue).ToList();
    }

    // The job directory is enumerated where it is local; over a remote transport only the
    // usual listing is given (an honest gap, see docs/slurm.md).
    private async Task<List<string>> OlderFolderJobIdsAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        if (Transport.Files is not LocalSlurmJobFiles) return [];
        List<string> names;
        try
        {
            names = Directory.EnumerateFileSystemEntries(Options.JobDirectory).Select(e => Path.GetFileName(e)).Where(SlurmJobId.IsValid).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return []; // no job directory (yet): nothing older to list
        }

        var found = await Transport.Files.FindAsync(names, cancellationToken).ConfigureAwait(false);
        return found.Where(f => f.Value.SubmittedAt < cutoff).Select(f => f.Key).ToList();
    }

    /// <inheritdoc />
    protected override async Task<IReadOnlyList<JobQueryResult>> RemoveFinishedAsync(IReadOnlyList<HPCJobInfo> jobs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (Transport.Files is not LocalSlurmJobFiles)
        {
            // Removal checks the folder's marks and deletes it through the local file system;
            // over a remote transport it is refused rather than half done.
            return jobs.Select(j => new JobQueryResult(j.JobId, j, new CcatException(CcatErrorId.RemoveFailed,
                $"Remove-CcatJob does not yet work over this Slurm transport (the job folders are not on this machine); nothing of job '{j.JobId}' was removed.", j.JobId))).ToList();
        }

        var found = await Transport.Files.FindAsync(jobs.Select(j => j.JobId).ToList(), cancellationToken).ConfigureAwait(false);
        var results = new List<JobQueryResult>(jobs.Count);
        foreach (var job in jobs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            results.Add(new JobQueryResult(job.JobId, job, RemoveOne(job.JobId, found.GetValueOrDefault(job.JobId))));
        }

        return results;
    }

    // The tag as written in job.json (the metadata type defaults it, so it is read raw).
    private static bool CarriesTag(string? metadataText)
    {
        if (metadataText is null) return false;
        try
        {
            using var doc = JsonDocument.Parse(metadataText);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("tag", out var tag) && tag.ValueKind == JsonValueKind.String
                && tag.GetString() == SlurmOptions.Tag;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private CcatException? RemoveOne(string id, SlurmJobFolder? folder)
    {
        if (folder is null)
        {
            return new CcatException(CcatErrorId.NotOwnedByModule,
                $"Slurm job '{id}' has no folder in the job directory {Options.JobDirectory}: the module did not submit it here, and nothing of it is removed.", id);
        }

        var inRoot = string.Equals(Path.GetDirectoryName(folder.Path.TrimEnd('/')), Options.JobDirectory.TrimEnd('/'), StringComparison.Ordinal);
        var dir = new DirectoryInfo(folder.Path);
        if (!inRoot || dir.LinkTarget is not null || !dir.Exists || !CarriesTag(Transport.Files.ReadSmallText(folder.MetadataPath)))
        {
            return new CcatException(CcatErrorId.NotOwnedByModule,
                $"{folder.Path} (the folder of Slurm job '{id}') is not a job folder the module made (no {SlurmJobDirectory.MetadataFile} with the tag '{SlurmOptions.Tag}' directly under {Options.JobDirectory}): nothing of it is removed.", id);
        }

        try
        {
            // The link first: without it nothing leads to the folder, so a half-done removal
            // leaves no job that looks alive.
            File.Delete(Path.Combine(Options.JobDirectory, id));
            Directory.Delete(folder.Path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new CcatException(CcatErrorId.RemoveFailed, $"Could not remove the folder of Slurm job '{id}' ({folder.Path}): {ex.Message}", id, ex);
        }
        finally
        {
            _metadata.TryRemove(folder.Path, out _);
            _folders.TryRemove(id, out _);
            _lastKnown.TryRemove(id, out _);
            _names.TryRemove(id, out _);
            _cancelRequested.TryRemove(id, out _);
        }

        return null;
    }
}
