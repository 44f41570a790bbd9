using System.Runtime.InteropServices;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.LocalRunner;

/// <summary>
/// The runner of a Local job array: one process per array that starts the elements. It holds
/// the array folder's lock for its whole life (readers call its unstarted elements pending
/// while it lives, lost once it is gone), writes runner.json before it starts anything (what the
/// submitter waits for), waits for the array's parents if it has any, then starts element after
/// element, at most <c>throttle_limit</c> at once. Each element is an ordinary job: its folder
/// <c>&lt;array&gt;_&lt;index&gt;</c> with job.json and its record are made here, then a runner of
/// its own (this same program, <c>run &lt;element folder&gt;</c>) watches, measures and records it
/// with every guarantee of a single job. An element cancelled (or whose parents can never meet
/// the condition) before it started gets its result here, and never runs.
/// </summary>
internal sealed class ArraySupervisor
{
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);

    private readonly LocalJobDirectory _dir;
    private readonly LocalJobSpec _spec;
    private readonly LocalJobSpec _specAsWritten;
    private readonly ILocalJobStore _store;
    private readonly LocalStoreOptions _storeOptions;
    private readonly List<KeyValuePair<string, string>> _secrets;
    private readonly Dictionary<int, int> _running = []; // element runner pid → index
    private volatile bool _terminateRequested;

    private ArraySupervisor(LocalJobDirectory dir, LocalJobSpec spec, LocalJobSpec specAsWritten, ILocalJobStore store, LocalStoreOptions storeOptions)
    {
        _dir = dir;
        _spec = spec;
        _specAsWritten = specAsWritten;
        _store = store;
        _storeOptions = storeOptions;
        // The secrets came over stdin (never a file); each element runner gets them the same way.
        _secrets = spec.Environment.Where(v => spec.SecretEnvironmentNames.Contains(v.Name))
            .Select(v => new KeyValuePair<string, string>(v.Name, v.Value)).ToList();
    }

    /// <summary>Runs the array in <paramref name="dir"/> until every element has ended. Returns the runner's exit code.</summary>
    public static int Run(LocalJobDirectory dir, LocalJobSpec spec, LocalJobSpec specAsWritten, ILocalJobStore store, LocalStoreOptions storeOptions)
    {
        var supervisor = new ArraySupervisor(dir, spec, specAsWritten, store, storeOptions);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            supervisor._terminateRequested = true;
        });
        return supervisor.RunArray();
    }

    private int RunArray()
    {
        Log($"array runner {Environment.ProcessId} for array {_spec.Id} ({_spec.ArrayIndex}, throttle {_spec.ThrottleLimit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"})");
        if (RunnerLock.Take(_dir.FilePath(LocalJobDirectory.LockFile), out _) is { } lockError)
        {
            Log(lockError);
            return 3;
        }

        IReadOnlyList<int> indices;
        try
        {
            indices = ArrayIndexSpec.Parse(_spec.ArrayIndex).Indices;
        }
        catch (CcatException e)
        {
            Log($"the array's indices are unusable: {e.Message}");
            return 2;
        }

        if (RunnerClaim.Claim(_dir, RunnerClaim.NewState(), "any element", Log) is { } notClaimed) return notClaimed;

        // Elements that already have a folder (none, unless a runner ran here before) are left alone.
        var pending = new List<int>(indices.Where(i => !ElementDir(i).Exists));
        if (LocalArrayFiles.Dependency(_spec) is { } dependency)
        {
            Log($"waiting for {string.Join(", ", dependency.ParentIds)} ({dependency.Condition})");
            var verdict = ParentWait.Wait(dependency, _storeOptions, () =>
            {
                EndCancelled(pending);
                return pending.Count == 0 || _terminateRequested;
            }, Log);
            if (verdict is not null)
            {
                foreach (var index in pending) EndUnstarted(index, verdict);
                return 0;
            }

            TryCreate(_dir.FilePath(LocalArrayFiles.ParentsMetFile));
        }

        var limit = _spec.ThrottleLimit is { } n and > 0 ? n : int.MaxValue;
        var nextHeartbeat = DateTime.UtcNow + HeartbeatInterval;
        while (pending.Count > 0 || _running.Count > 0)
        {
            if (_terminateRequested) CancelAll(pending);
            EndCancelled(pending);
            while (_running.Count < limit && pending.Count > 0)
            {
                var index = pending[0];
                pending.RemoveAt(0);
                Start(index);
            }

            Reap();
            if (DateTime.UtcNow >= nextHeartbeat)
            {
                RunnerClaim.Heartbeat(_dir, Log);
                nextHeartbeat = DateTime.UtcNow + HeartbeatInterval;
            }

            if (_running.Count >= limit || pending.Count == 0) Thread.Sleep(100);
        }

        Log("every element has ended");
        return 0;
    }

    private LocalJobDirectory ElementDir(int index) =>
        new(Path.Combine(Path.GetDirectoryName(_dir.Path)!, LocalArrayFiles.ElementId(_spec.Id, index)));

    /// <summary>The unstarted elements asked to be cancelled get their result now and leave the queue.</summary>
    private void EndCancelled(List<int> pending)
    {
        for (var i = pending.Count - 1; i >= 0; i--)
        {
            if (!LocalArrayFiles.ElementCancelRequested(_dir, pending[i])) continue;
            EndUnstarted(pending[i], Cancelled());
            pending.RemoveAt(i);
        }
    }

    /// <summary>SIGTERM to the array runner: no element is started any more, the running ones are cancelled.</summary>
    private void CancelAll(List<int> pending)
    {
        foreach (var index in pending) EndUnstarted(index, Cancelled());
        pending.Clear();
        foreach (var index in _running.Values)
        {
            try
            {
                ElementDir(index).RequestCancel(new LocalCancelRequest { RequestedAt = DateTimeOffset.UtcNow, Host = Environment.MachineName, Pid = Environment.ProcessId });
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log($"cannot cancel element {index}: {e.Message}");
            }
        }
    }

    private static LocalJobResult Cancelled() => new()
    {
        Reason = LocalJobRecord.ReasonText(HPCJobReason.Cancelled),
        FinishedAt = DateTimeOffset.UtcNow,
        Message = "Cancelled before it started.",
        Host = Environment.MachineName,
    };

    /// <summary>Makes the element's folder, job.json and record (pending); false when it cannot be made.</summary>
    private LocalJobDirectory? Prepare(int index)
    {
        var dir = ElementDir(index);
        // Submitted, for the element, when it is handed to its runner: the launch grace of a
        // reader that looks before the runner reports counts from then.
        var spec = LocalArrayFiles.ElementSpec(_specAsWritten, _dir.Path, dir.Path, index) with { SubmittedAt = DateTimeOffset.UtcNow };
        try
        {
            SafeFile.CreateDirectory0700(dir.Path);
            dir.WriteSpec(spec);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CcatException)
        {
            Log($"cannot make the folder of element {index}: {e.Message}");
            return null;
        }

        try
        {
            _store.CreateAsync(spec.Id, LocalJobRecord.ForSubmission(spec, dir.Path), spec.SubmittedAt, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (CcatException e)
        {
            // The folder is the truth: a reader rebuilds the record from it.
            Log($"cannot record element {index} in the store yet ({e.Message}); its folder stands");
        }

        return dir;
    }

    /// <summary>An element that never runs: its folder, job.json, result and record.</summary>
    private void EndUnstarted(int index, LocalJobResult result)
    {
        if (Prepare(index) is not { } dir) return;
        Record(index, dir, result);
    }

    private void Record(int index, LocalJobDirectory dir, LocalJobResult result)
    {
        try
        {
            if (!dir.TryWriteResult(result)) return; // a result stands already
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CcatException)
        {
            Log($"cannot write the result of element {index}: {e.Message}");
        }

        try
        {
            _store.UpdateAsync(LocalArrayFiles.ElementId(_spec.Id, index), LocalJobRecord.ForResult(result), CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (CcatException e)
        {
            Log($"cannot record the result of element {index} in the store ({e.Message}); its folder holds it");
        }
    }

    private void Start(int index)
    {
        if (Prepare(index) is not { } dir) return;
        if (LocalArrayFiles.ElementCancelRequested(_dir, index))
        {
            Record(index, dir, Cancelled());
            return;
        }

        int? secretsRead = null, secretsWrite = null;
        if (_secrets.Count > 0 && LocalNative.Pipe(out var r, out var w) == 0) (secretsRead, secretsWrite) = (r, w);
        var log = dir.FilePath(LocalJobDirectory.RunnerLogFile);
        var err = PosixSpawn.Start(Environment.ProcessPath!, RunnerArgv(dir.Path), OwnEnvironment(), secretsRead, log, log, out var pid);
        if (secretsRead is { } rd) LocalNative.Close(rd);
        if (secretsWrite is { } wr) Feed(wr, err == 0 ? LocalSecretChannel.Serialize(_secrets) : "");
        if (err != 0)
        {
            Record(index, dir, LaunchFailure($"The element's runner could not be started: {LocalNative.Strerror(err)}."));
            return;
        }

        _running[pid] = index;
        Log($"element {index} started: runner pid {pid}");
    }

    /// <summary>Reaps ended element runners; one that ended before it started its element leaves a launch failure.</summary>
    private void Reap()
    {
        while (_running.Count > 0)
        {
            var pid = RunnerNative.Wait4(-1, out _, RunnerNative.WNOHANG, out _);
            if (pid <= 0) return;
            if (!_running.Remove(pid, out var index)) continue;
            var dir = ElementDir(index);
            // No runner.json: the element provably never ran (its runner writes it before the start).
            if (!dir.HasResult && !File.Exists(dir.FilePath(LocalJobDirectory.RunnerFile)) && !LocalArrayFiles.IsWaitingForParents(dir))
            {
                Record(index, dir, LaunchFailure($"The element's runner ended before it started the element. {RunnerLauncher.RunnerLog(dir)}"));
            }
        }
    }

    private static LocalJobResult LaunchFailure(string message) => new()
    {
        Reason = LocalJobRecord.ReasonText(HPCJobReason.LaunchFailure),
        FinishedAt = DateTimeOffset.UtcNow,
        Message = message,
        Host = Environment.MachineName,
    };

    /// <summary>This runner's own argv with the array folder replaced by the element's: the same runner, native or managed.</summary>
    private static List<string> RunnerArgv(string elementDir)
    {
        var argv = File.ReadAllText("/proc/self/cmdline").Split('\0').ToList();
        if (argv.Count > 0 && argv[^1].Length == 0) argv.RemoveAt(argv.Count - 1);
        argv[^1] = elementDir;
        return argv;
    }

    /// <summary>The array runner's environment as it was given (the store options included; each element runner removes them before its job starts).</summary>
    private static List<string> OwnEnvironment()
    {
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env.Add((string)e.Key + "=" + (e.Value as string ?? ""));
        }

        return env;
    }

    private static void Feed(int fd, string text)
    {
        using var pipe = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, 1);
        try
        {
            pipe.Write(System.Text.Encoding.UTF8.GetBytes(text));
        }
        catch (IOException)
        {
            // the element runner ended before reading: Reap records that it never started
        }
    }

    private static void TryCreate(string path)
    {
        try
        {
            AtomicFile.CreateNew(path, "");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // only tells readers the parents are met; the elements start all the same
        }
    }

    private static void Log(string message)
    {
        try
        {
            Console.Error.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} ccat-runner[{Environment.ProcessId}]: {message}");
        }
        catch (IOException)
        {
            // runner.log on a full or read-only disk: the diagnostics are lost, nothing else
        }
    }
}
