using System.Text.Json;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// One job's directory, <c>&lt;LOCAL_JOB_DIR&gt;/&lt;id&gt;/</c>, and the files in it. Every file is
/// written whole and atomically (see <see cref="AtomicFile"/>), so a reader on any host sees
/// either the old state or the new one.
/// </summary>
internal sealed class LocalJobDirectory
{
    /// <summary>File names inside the job directory.</summary>
    public const string SpecFile = "job.json", RunnerFile = "runner.json", ResultFile = "result.json",
        HeartbeatFile = "heartbeat", CancelFile = "cancel-requested", StdoutFile = "stdout.log",
        StderrFile = "stderr.log", RunnerLogFile = "runner.log", LockFile = "runner.lock", ReserveFile = ".result.reserve";

    /// <summary>The space the runner reserves for its result before it starts the job.</summary>
    public const int ReserveBytes = 64 * 1024;

    public LocalJobDirectory(string path) => Path = path;

    /// <summary>The directory.</summary>
    public string Path { get; }

    public string FilePath(string name) => System.IO.Path.Combine(Path, name);

    public string StdoutPath => FilePath(StdoutFile);

    public string StderrPath => FilePath(StderrFile);

    public bool Exists => Directory.Exists(Path);

    /// <summary>The uid that owns the folder (null when it is missing, or not a real folder).</summary>
    public uint? Owner => SafeFile.DirectoryOwner(Path);

    /// <summary>Creates the folder, 0700 (its parents too, where missing).</summary>
    public void Create() => SafeFile.CreatePrivateDirectory(Path);
    public bool HasResult => File.Exists(FilePath(ResultFile));

    public bool CancelRequested => File.Exists(FilePath(CancelFile));

    /// <summary>
    /// Is the runner alive? Its exclusive flock on runner.lock says so: a lock that can be taken
    /// proves the runner dead (the kernel drops it when the process ends, however it ends).
    /// </summary>
    public RunnerLockState ProbeLock()
    {
        var fd = SafeFile.OpenForLock(FilePath(LockFile), create: false);
        if (fd == -SafeFile.ENOENT) return RunnerLockState.Absent;
        if (fd < 0) return RunnerLockState.Unknown;
        try
        {
            if (!SafeFile.IsRegularFile(fd)) return RunnerLockState.Unknown;
            using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: false);
            // Shared: readers never block each other, only the runner's exclusive lock blocks them.
            var err = LocalNative.Flock(handle, LocalNative.LOCK_SH | LocalNative.LOCK_NB);
            return err == 0 ? RunnerLockState.Free : err == LocalNative.EWOULDBLOCK ? RunnerLockState.Held : RunnerLockState.Unknown;
        }
        finally
        {
            SafeFile.Close(fd); // drops our lock, if we got it
        }
    }

    public LocalJobSpec? TryReadSpec() => TryRead<LocalJobSpec>(SpecFile);

    public LocalRunnerState? TryReadRunner() => TryRead<LocalRunnerState>(RunnerFile);

    public LocalJobResult? TryReadResult() => TryRead<LocalJobResult>(ResultFile);

    public LocalCancelRequest? TryReadCancel()
    {
        try
        {
            return TryRead<LocalCancelRequest>(CancelFile);
        }
        catch (Exception e) when (e is CcatException or IOException or UnauthorizedAccessException)
        {
            return null; // a marker is a marker, whatever it holds (or whoever wrote it: root's is 0600)
        }
    }

    public void WriteSpec(LocalJobSpec spec)
    {
        if (!AtomicFile.CreateNew(FilePath(SpecFile), Serialize(spec)))
        {
            throw new IOException($"{FilePath(SpecFile)} exists already.");
        }
    }

    public void WriteRunner(LocalRunnerState state) => AtomicFile.Replace(FilePath(RunnerFile), Serialize(state));

    /// <summary>
    /// Creates runner.json unless it exists (the runner, before it starts the job); false when it
    /// did. Once it is on disk, the runner's start report wakes the submitter (<see cref="RunnerStartReport"/>).
    /// </summary>
    public bool TryCreateRunner(LocalRunnerState state)
    {
        var created = AtomicFile.CreateNew(FilePath(RunnerFile), Serialize(state));
        if (created) RunnerStartReport.Send();
        return created;
    }

    /// <summary>
    /// Reserves space for the result (the runner, before it starts the job): a job that fills
    /// the disk cannot then keep its result from being recorded. fallocate(2) sets the blocks
    /// aside at once, without writing or flushing anything; where the file system cannot
    /// (EOPNOTSUPP: some network file systems), zeros are written and flushed to the same end.
    /// </summary>
    public void ReserveResultSpace()
    {
        using var fs = new FileStream(FilePath(ReserveFile), SafeFile.Options0600(FileMode.Create, FileAccess.Write));
        var err = LocalNative.Fallocate(fs.SafeFileHandle, ReserveBytes);
        if (err == 0) return;
        if (err != LocalNative.EOPNOTSUPP) throw new IOException($"Cannot reserve {ReserveBytes} bytes in {FilePath(ReserveFile)}: {LocalNative.Strerror(err)}.");
        fs.Write(new byte[ReserveBytes]);
        fs.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Writes the result into the reserved space and links it into place (create-only), for a
    /// disk with no space left. Returns false when another result was there first.
    /// </summary>
    public bool TryWriteResultIntoReserve(LocalJobResult result)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(Serialize(result));
        var reserve = FilePath(ReserveFile);
        if (bytes.Length > ReserveBytes) throw new IOException("The result is larger than the space reserved for it.");
        using (var fs = new FileStream(reserve, FileMode.Open, FileAccess.Write))
        {
            fs.Write(bytes);
            fs.SetLength(bytes.Length);
            fs.Flush(flushToDisk: true);
        }

        var err = LocalNative.Link(reserve, FilePath(ResultFile));
        if (err != 0 && err != LocalNative.EEXIST) throw new IOException($"Cannot link the result into place: {SafeFile.Strerror(err)}.");
        File.Delete(reserve);
        return err == 0;
    }

    /// <summary>Writes the final result unless one exists; false when another writer was first.</summary>
    public bool TryWriteResult(LocalJobResult result) => AtomicFile.CreateNew(FilePath(ResultFile), Serialize(result));

    /// <summary>Leaves the cancel marker (the first request's stays).</summary>
    public void RequestCancel(LocalCancelRequest request) => AtomicFile.CreateNew(FilePath(CancelFile), Serialize(request));

    /// <summary>Marks the runner alive, for readers on other hosts.</summary>
    public void TouchHeartbeat()
    {
        var path = FilePath(HeartbeatFile);
        try
        {
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
        }
        catch (FileNotFoundException)
        {
            using var _ = new FileStream(path, SafeFile.Options0600(FileMode.OpenOrCreate, FileAccess.Write));
        }
    }

    /// <summary>When the runner last marked itself alive (the heartbeat file, else runner.json).</summary>
    public DateTimeOffset? LastSignOfLife()
    {
        foreach (var name in new[] { HeartbeatFile, RunnerFile })
        {
            var info = new FileInfo(FilePath(name));
            if (info.Exists) return new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero);
        }

        return null;
    }

    private T? TryRead<T>(string name)
        where T : class
    {
        string text;
        try
        {
            // No symlink, regular files only, at most 1 MiB: a record pointed at /dev/zero or a
            // FIFO by whoever could write the folder must not hang or exhaust the reader.
            if (SafeFile.ReadCappedText(FilePath(name)) is not { } t) return null;
            text = t;
        }
        catch (IOException e)
        {
            throw new CcatException(CcatErrorId.StoreUnavailable, $"The job file {FilePath(name)} cannot be used: {e.Message}", System.IO.Path.GetFileName(Path), e);
        }

        try
        {
            return (T?)JsonSerializer.Deserialize(text, typeof(T), LocalJson.Context)
                ?? throw new JsonException("empty document");
        }
        catch (JsonException e)
        {
            throw new CcatException(CcatErrorId.StoreUnavailable, $"The job file {FilePath(name)} is unreadable: {e.Message}", System.IO.Path.GetFileName(Path), e);
        }
    }

    private static string Serialize<T>(T value) => JsonSerializer.Serialize(value, typeof(T), LocalJson.Context) + "\n";
}

/// <summary>What runner.lock says about the runner.</summary>
internal enum RunnerLockState
{
    /// <summary>No lock file (a runner of an older version, or none started yet).</summary>
    Absent,

    /// <summary>Locked: the runner lives.</summary>
    Held,

    /// <summary>Lockable: the runner is dead — proof no other user can forge.</summary>
    Free,

    /// <summary>Not readable by us (another user's job) or not a regular file: no conclusion.</summary>
    Unknown,
}
