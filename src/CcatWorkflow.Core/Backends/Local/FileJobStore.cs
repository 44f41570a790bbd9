using System.Text.Json;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// The embedded job store: one <c>record.json</c> per job, in the job's own directory under
/// <c>LOCAL_JOB_DIR</c>. Writes are atomic (temporary file + rename). Updates are
/// read-modify-write under an exclusive <c>flock</c> on the job's <c>record.lock</c>, so
/// concurrent writers in several processes never lose each other's fields; readers take no lock.
/// Submitters never contend: each job has its own directory, and listing enumerates them.
/// </summary>
internal sealed class FileJobStore : ILocalJobStore
{
    /// <summary>File names of the store inside a job directory.</summary>
    public const string RecordFile = "record.json", LockFile = "record.lock";

    private readonly string _root;
    private readonly TimeSpan _lockTimeout;

    public FileJobStore(string root, TimeSpan? lockTimeout = null)
    {
        _root = root;
        _lockTimeout = lockTimeout ?? TimeSpan.FromSeconds(10);
    }

    public string Description => $"file store {_root}";

    private string RecordPath(string id) => Path.Combine(_root, id, RecordFile);

    public Task CreateAsync(string id, IReadOnlyDictionary<string, string> fields, DateTimeOffset submittedAt, CancellationToken cancellationToken) =>
        Guard(id, () =>
        {
            SafeFile.CreatePrivateDirectory(Path.Combine(_root, id));
            if (!AtomicFile.CreateNew(RecordPath(id), Serialize(fields)))
            {
                throw new CcatException(CcatErrorId.StoreUnavailable, $"A record for job {id} exists already in the {Description}.", id);
            }

            return Task.CompletedTask;
        });

    public Task<IReadOnlyList<IReadOnlyDictionary<string, string>?>> GetManyAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        Guard(null, () =>
        {
            CheckRoot();
            var list = new List<IReadOnlyDictionary<string, string>?>(ids.Count);
            foreach (var id in ids)
            {
                cancellationToken.ThrowIfCancellationRequested();
                list.Add(Read(id));
            }

            return Task.FromResult<IReadOnlyList<IReadOnlyDictionary<string, string>?>>(list);
        });

    public Task<bool> UpdateAsync(string id, IReadOnlyDictionary<string, string> fields, CancellationToken cancellationToken) =>
        Guard(id, async () =>
        {
            var dir = Path.Combine(_root, id);
            if (!Directory.Exists(dir))
            {
                CheckRoot();
                return false;
            }

            await using var lockHandle = await AcquireLockAsync(Path.Combine(dir, LockFile), id, cancellationToken).ConfigureAwait(false);
            var current = Read(id);
            if (current is null) return false;
            var merged = new Dictionary<string, string>(current);
            foreach (var (k, v) in fields) merged[k] = v;
            AtomicFile.Replace(RecordPath(id), Serialize(merged));
            return true;
        });

    public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken) =>
        Guard(null, () =>
        {
            CheckRoot();
            if (!Directory.Exists(_root)) return Task.FromResult<IReadOnlyList<string>>([]);
            var found = new List<(string Id, string Submitted)>();
            foreach (var dir in Directory.EnumerateDirectories(_root))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var id = Path.GetFileName(dir);
                IReadOnlyDictionary<string, string>? rec;
                try
                {
                    rec = Read(id);
                }
                catch (CcatException)
                {
                    continue; // an unreadable record is reported when the job itself is asked for
                }

                if (rec is not null) found.Add((id, rec.GetValueOrDefault(LocalJobRecord.SubmittedAt, "")));
            }

            // ISO 8601 UTC times sort as strings.
            return Task.FromResult<IReadOnlyList<string>>(found
                .OrderByDescending(f => f.Submitted, StringComparer.Ordinal)
                .ThenBy(f => f.Id, StringComparer.Ordinal)
                .Select(f => f.Id).ToList());
        });

    public Task DeleteAsync(string id, CancellationToken cancellationToken) =>
        Guard(id, () =>
        {
            File.Delete(RecordPath(id));
            return Task.CompletedTask;
        });

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>
    /// A missing LOCAL_JOB_DIR is an empty store (nothing was submitted yet); one that exists as
    /// something other than a directory, or lies below a file, cannot be a store at all.
    /// </summary>
    private void CheckRoot()
    {
        for (var path = _root; !string.IsNullOrEmpty(path); path = Path.GetDirectoryName(path))
        {
            if (Directory.Exists(path)) return;
            if (File.Exists(path))
            {
                throw new CcatException(CcatErrorId.StoreUnavailable, $"The {Description} cannot be used: {path} is a file, not a directory.");
            }
        }
    }

    private IReadOnlyDictionary<string, string>? Read(string id)
    {
        string text;
        try
        {
            // No symlink, regular files only, capped: see SafeFile.
            if (SafeFile.ReadCappedText(RecordPath(id)) is not { } t) return null;
            text = t;
        }
        catch (IOException e)
        {
            throw new CcatException(CcatErrorId.StoreUnavailable, $"The record {RecordPath(id)} cannot be used: {e.Message}", id, e);
        }

        try
        {
            return JsonSerializer.Deserialize(text, LocalJson.Context.DictionaryStringString) ?? throw new JsonException("empty document");
        }
        catch (JsonException e)
        {
            throw new CcatException(CcatErrorId.StoreUnavailable, $"The record {RecordPath(id)} is unreadable: {e.Message}", id, e);
        }
    }

    private static string Serialize(IReadOnlyDictionary<string, string> fields) =>
        JsonSerializer.Serialize(fields, typeof(IReadOnlyDictionary<string, string>), LocalJson.Context) + "\n";

    /// <summary>
    /// An exclusive flock on the lock file, polled without blocking so the wait honours the
    /// timeout and the token. FileShare.None already makes .NET take the lock; the explicit
    /// flock keeps it when DOTNET_SYSTEM_IO_DISABLEFILELOCKING switches .NET's emulation off.
    /// </summary>
    private async Task<FileStream> AcquireLockAsync(string path, string id, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + _lockTimeout;
        var delay = 5;
        while (true)
        {
            FileStream? fs = null;
            try
            {
                fs = new FileStream(path, SafeFile.Options0600(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
                var err = LocalNative.Flock(fs.SafeFileHandle, LocalNative.LOCK_EX | LocalNative.LOCK_NB);
                if (err == 0) return fs;
                if (err != LocalNative.EWOULDBLOCK) throw new IOException($"flock({path}) failed with errno {err}.");
            }
            catch (IOException) when (DateTime.UtcNow < deadline && File.Exists(path))
            {
                // held by another writer (sharing violation)
            }

            fs?.Dispose();
            if (DateTime.UtcNow >= deadline)
            {
                throw new CcatException(CcatErrorId.StoreUnavailable, $"The record of job {id} stayed locked for {_lockTimeout.TotalSeconds:0.#} s ({path}).", id);
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = Math.Min(delay * 2, 100);
        }
    }

    private async Task<T> Guard<T>(string? id, Func<Task<T>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CcatException(CcatErrorId.StoreUnavailable, $"The {Description} cannot be used: {e.Message}", id, e);
        }
    }

    private async Task Guard(string? id, Func<Task> action) =>
        await Guard<bool>(id, async () =>
        {
            await action().ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
}
