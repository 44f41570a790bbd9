using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>
/// The job folders when the REST transport has no way to reach them: no SSH login node is
/// configured and SLURM_JOB_DIR is not a folder this machine shares with the cluster. Status and
/// cancel still work (they need no files); submitting and reading logs say what is missing.
/// </summary>
public sealed class NoSlurmJobFiles(string root) : ISlurmJobFiles
{
    /// <summary>What is missing, in words.</summary>
    public string Why =>
        $"SLURM_TRANSPORT=rest has no file access: job folders and logs need ssh (SLURM_SSH_HOST, read over SFTP) or a shared folder (SLURM_JOB_DIR '{Root}' mounted at the same path here, which it is not).";

    /// <inheritdoc />
    public string Root { get; } = root;

    /// <inheritdoc />
    public Task PrepareAsync(string folderName, string script, SlurmJobMetadata metadata, CancellationToken cancellationToken) =>
        throw new CcatException(CcatErrorId.InvalidConfiguration, Why);

    /// <inheritdoc />
    public Task LinkAsync(string jobId, string folderName, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task DeleteAsync(string folder, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task<IReadOnlyDictionary<string, SlurmJobFolder>> FindAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, SlurmJobFolder>>(new Dictionary<string, SlurmJobFolder>());

    /// <inheritdoc />
    public string? ReadEnd(string path, int bytes) => null;

    /// <inheritdoc />
    public string? ReadSmallText(string path) => null;

    /// <inheritdoc />
    public Task<string> ReadLogAsync(string path, int? tail, CancellationToken cancellationToken) =>
        throw new CcatException(CcatErrorId.LogUnavailable, Why);

    /// <inheritdoc />
    public ISlurmLogFollower Follow(string path, int? tail) => throw new CcatException(CcatErrorId.LogUnavailable, Why);
}
