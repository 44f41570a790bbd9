namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// The job folders under SLURM_JOB_DIR as a transport reaches them: the local file system on a
/// login node, SFTP and remote commands over SSH. The layout (names, links, metadata) is
/// <see cref="SlurmJobDirectory"/>'s; this only moves bytes.
/// </summary>
public interface ISlurmJobFiles
{
    /// <summary>SLURM_JOB_DIR on the cluster, absolute.</summary>
    string Root { get; }

    /// <summary>Creates the folder (0700) and writes the script and metadata (0600). A failure is <c>InvalidConfiguration</c> naming SLURM_JOB_DIR.</summary>
    Task PrepareAsync(string folderName, string script, SlurmJobMetadata metadata, CancellationToken cancellationToken);

    /// <summary>Points <c>&lt;root&gt;/&lt;jobId&gt;</c> at the folder (replacing an older link of a reused id).</summary>
    Task LinkAsync(string jobId, string folderName, CancellationToken cancellationToken);

    /// <summary>Deletes a folder prepared for a submission that did not happen (best effort).</summary>
    Task DeleteAsync(string folder, CancellationToken cancellationToken);

    /// <summary>The folders of <paramref name="jobIds"/>; ids the module did not submit here are absent.</summary>
    Task<IReadOnlyDictionary<string, SlurmJobFolder>> FindAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken);

    /// <summary>Up to the last <paramref name="bytes"/> bytes of a file as text; null when it cannot be read.</summary>
    string? ReadEnd(string path, int bytes);

    /// <summary>A small file's text (metadata); null when it cannot be read.</summary>
    string? ReadSmallText(string path);

    /// <summary>A log file's text, or its last <paramref name="tail"/> lines without reading the whole file. Missing reads as empty.</summary>
    Task<string> ReadLogAsync(string path, int? tail, CancellationToken cancellationToken);

    /// <summary>A follower that returns what was appended to a log since its last read (by offsets).</summary>
    ISlurmLogFollower Follow(string path, int? tail);

    /// <summary>
    /// Removes the by-id links <paramref name="linkIds"/> and the folders they lead to, each only
    /// after checking it is one the module made: directly under <see cref="Root"/>, one of its
    /// folder names, a real directory (no link followed), holding a <c>job.json</c> with the tag.
    /// In one request for the batch where the transport can. A transport without file access
    /// removes nothing (<see cref="SlurmFolderRemovalOutcome.Unsupported"/>).
    /// </summary>
    Task<IReadOnlyDictionary<string, SlurmFolderRemoval>> RemoveAsync(IReadOnlyList<string> linkIds, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, SlurmFolderRemoval>>(linkIds.Distinct(StringComparer.Ordinal).ToDictionary(id => id,
            _ => new SlurmFolderRemoval(SlurmFolderRemovalOutcome.Unsupported, null, "this Slurm transport has no access to the job folders"), StringComparer.Ordinal));
}

/// <summary>Reads a growing log file by offsets.</summary>
public interface ISlurmLogFollower : IDisposable
{
    /// <summary>The text appended since the last call (the last lines first time, when a tail was asked).</summary>
    Task<string> ReadNewAsync(CancellationToken cancellationToken);
}
