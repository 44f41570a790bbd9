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
        StderrFile = "stderr.log", RunnerLogFile = "runner.log";

    public LocalJobDirectory(string path) => Path = path;

    /// <summary>The directory.</summary>
    public string Path { get; }

    public string FilePath(string name) => System.IO.Path.Combine(Path, name);

    public string StdoutPath => FilePath(StdoutFile);

    public string StderrPath => FilePath(StderrFile);

    public bool Exists => Directory.Exists(Path);

    public bool HasResult => File.Exists(FilePath(ResultFile));

    public bool CancelRequested => File.Exists(FilePath(CancelFile));

    public LocalJobSpec? TryReadSpec() => TryRead<LocalJobSpec>(SpecFile);

    public LocalRunnerState? TryReadRunner() => TryRead<LocalRunnerState>(RunnerFile);

    public LocalJobResult? TryReadResult() => TryRead<LocalJobResult>(ResultFile);

    public LocalCancelRequest? TryReadCancel()
    {
        try
        {
            return TryRead<LocalCancelRequest>(CancelFile);
        }
        catch (CcatException)
        {
            return null; // a marker is a marker, whatever it holds
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
            File.WriteAllText(path, "");
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
            text = File.ReadAllText(FilePath(name));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
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
