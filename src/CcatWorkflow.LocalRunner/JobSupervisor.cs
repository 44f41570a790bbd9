using System.Collections;
using System.Diagnostics;
using System.Runtime.InteropServices;
using CcatWorkflow;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.LocalRunner;

/// <summary>
/// The runner's job: start <c>/bin/sh -c &lt;command&gt;</c> in a session of its own, watch it
/// until it ends, measure it, and record the result — first durably in the job directory
/// (result.json), then in the store.
/// <para>
/// Measuring: the runner is a child subreaper, so every process the job leaves behind is
/// re-parented to it and reaped by it; getrusage(RUSAGE_CHILDREN) after the last reap is then
/// the user + system CPU of the whole tree and the largest RSS any single process of it reached,
/// however briefly. The tree's summed RSS is sampled from /proc meanwhile (every 200 ms at
/// first, less often for long jobs); peak memory is the larger of the two. (The kernel charges
/// the runner's own memory at spawn time to the spawned shell's record, so the children's
/// maximum counts only when it is above that.)
/// </para>
/// <para>
/// Ending: a cancel marker, the time limit (time_hours), the memory limit (memory_gb, checked
/// on the sampled sum) or a SIGTERM to the runner end the job: TERM to every process of the
/// tree, the grace period, then KILL. So does the deletion of the job directory (a job nobody
/// can see or cancel any more must not run on unseen). When the job's main process ends,
/// whatever it left running is ended the same way (as a batch scheduler ends a job step).
/// </para>
/// </summary>
internal sealed class JobSupervisor
{
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ReapLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DirectoryGoneAfter = TimeSpan.FromSeconds(9);

    private readonly LocalJobDirectory _dir;
    private readonly LocalJobSpec _spec;
    private readonly ILocalJobStore _store;
    private readonly int _self = Environment.ProcessId;
    private volatile bool _terminateRequested;
    private long _peakRss;
    private long _lastRss;
    private Task? _runningUpdate;

    private JobSupervisor(LocalJobDirectory dir, LocalJobSpec spec, ILocalJobStore store)
    {
        _dir = dir;
        _spec = spec;
        _store = store;
    }

    /// <summary>Runs the job in <paramref name="jobDir"/> to its end. Returns the runner's exit code.</summary>
    public static int Run(string jobDir)
    {
        // First of all: nothing but our own wait4 may reap children (a SIG_IGN inherited for
        // SIGCHLD would make the kernel or .NET reap them and lose their exit status).
        RunnerNative.DefaultSigchld();
        _ = RunnerNative.EnsureSessionLeader();
        var subreaper = RunnerNative.BecomeSubreaper();

        var dir = new LocalJobDirectory(Path.GetFullPath(jobDir));
        LocalJobSpec spec;
        try
        {
            spec = dir.TryReadSpec() ?? throw new FileNotFoundException($"{dir.FilePath(LocalJobDirectory.SpecFile)} is missing.");
        }
        catch (Exception e) when (e is IOException or CcatException or UnauthorizedAccessException)
        {
            Log($"cannot read the job: {e.Message}");
            return 2;
        }

        try
        {
            // The secrets' values come over stdin, never from a file; held in memory only.
            using var stdin = Console.OpenStandardInput();
            var secrets = LocalSecretChannel.Read(stdin, spec.SecretEnvironmentNames);
            if (secrets.Count > 0) spec = spec with { Environment = [.. spec.Environment, .. secrets] };
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            Log($"cannot read the job's secret variables: {e.Message}");
            return 2;
        }

        var storeOptions = StoreOptions(dir);
        var store = storeOptions.CreateStore();
        try
        {
            if (subreaper != 0) Log($"warning: PR_SET_CHILD_SUBREAPER failed ({RunnerNative.Strerror(subreaper)}); orphans of the job are not counted");
            var supervisor = new JobSupervisor(dir, spec, store);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                supervisor._terminateRequested = true;
            });
            return supervisor.RunJob();
        }
        finally
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static LocalStoreOptions StoreOptions(LocalJobDirectory dir)
    {
        if (Environment.GetEnvironmentVariable(LocalStoreOptions.RunnerVariable) is { Length: > 0 } json)
        {
            try
            {
                return LocalStoreOptions.FromJson(json);
            }
            catch (System.Text.Json.JsonException e)
            {
                Log($"warning: {LocalStoreOptions.RunnerVariable} is unreadable ({e.Message}); using the file store");
            }
        }

        return new LocalStoreOptions { Kind = "file", JobRoot = Path.GetDirectoryName(dir.Path) ?? dir.Path };
    }

    private int RunJob()
    {
        Log($"runner {_self} for job {_spec.Id}");
        if (_dir.HasResult)
        {
            Log("the job already has a result; nothing to do");
            return 0;
        }

        if (_dir.CancelRequested)
        {
            Finish(new LocalJobResult
            {
                Reason = LocalJobRecord.ReasonText(HPCJobReason.Cancelled),
                FinishedAt = DateTimeOffset.UtcNow,
                Message = "Cancelled before it started.",
                Host = Environment.MachineName,
            });
            return 0;
        }

        try
        {
            Directory.SetCurrentDirectory(_spec.WorkingDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Finish(LaunchFailure($"The working directory {_spec.WorkingDirectory} cannot be used: {e.Message}"));
            return 0;
        }

        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var err = RunnerNative.Spawn("/bin/sh", ["/bin/sh", "-c", _spec.Command], BuildEnvironment(),
            _dir.StdoutPath, _dir.StderrPath, out var pid);
        if (err != 0)
        {
            Finish(LaunchFailure($"/bin/sh could not be started: {RunnerNative.Strerror(err)}."));
            return 0;
        }

        // The spawned process's own peak-RSS record starts at our high-water mark (the kernel
        // charges the memory it had before exec — ours — to it). A children's maxrss at or below
        // this says nothing about the job; above it, it is a real process peak.
        var spawnHighWater = OwnHighWaterBytes();

        // Not reaped yet, so its /proc entry exists even if it has already exited.
        var ticks = ProcFs.TryReadStat(pid)?.StartTicks ?? 0;
        Sample(); // at once: a job of a few milliseconds is otherwise never seen
        var state = new LocalRunnerState
        {
            Host = Environment.MachineName,
            BootId = ProcFs.BootId,
            PidNamespace = ProcFs.PidNamespace,
            RunnerPid = _self,
            RunnerStartTicks = ProcFs.TryReadStat(_self)?.StartTicks ?? 0,
            JobPid = pid,
            JobStartTicks = ticks,
            StartedAt = startedAt,
            Runner = System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "managed" : "native",
        };
        try
        {
            _dir.WriteRunner(state);
            _dir.TouchHeartbeat();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log($"cannot write runner.json: {e.Message}");
        }

        // In the background: a slow store (a first Redis connect) must not delay the watching.
        _runningUpdate = Task.Run(() => UpdateStore(LocalJobRecord.ForRunning(state), attempts: 1));
        Log($"job started: pid {pid}");

        var (status, action, message) = Supervise(pid, clock);
        var wall = clock.Elapsed.TotalSeconds;
        EndLeftovers(pid);

        var usage = RunnerNative.ChildrenUsage();
        var childPeak = usage.MaxRssKilobytes * 1024;
        var sampled = Interlocked.Read(ref _peakRss);
        long? peak = childPeak > spawnHighWater ? Math.Max(childPeak, sampled) : sampled > 0 ? sampled : null;
        var (exitCode, signal) = RunnerNative.DecodeStatus(status);
        var reason = action
            ?? (exitCode == 0 ? HPCJobReason.None : signal is not null ? HPCJobReason.Signaled : HPCJobReason.NonZeroExit);
        Finish(new LocalJobResult
        {
            ExitCode = exitCode ?? 128 + signal,
            Signal = signal,
            Reason = LocalJobRecord.ReasonText(reason),
            WallSeconds = wall,
            CpuSeconds = usage.UserCpu + usage.SystemCpu,
            UserCpuSeconds = usage.UserCpu,
            SystemCpuSeconds = usage.SystemCpu,
            PeakRssBytes = peak,
            StartedAt = startedAt,
            FinishedAt = startedAt + clock.Elapsed,
            Message = message ?? (exitCode == 127 ? "Exit code 127: the shell did not find the command." : null),
            Host = Environment.MachineName,
        });
        return 0;
    }

    /// <summary>Waits for the job's main process; returns its wait status and what we did to it.</summary>
    private (int Status, HPCJobReason? Action, string? Message) Supervise(int pid, Stopwatch clock)
    {
        TimeSpan? timeLimit = _spec.TimeHours is { } h ? TimeSpan.FromHours(h) : null;
        long? memoryLimit = _spec.MemoryGb is { } gb ? (long)(gb * 1024 * 1024 * 1024) : null;
        HPCJobReason? action = null;
        string? message = null;
        var forwardedTerm = false;
        TimeSpan? killAt = null;
        var nextSample = SampleInterval(TimeSpan.Zero);
        var nextHeartbeat = HeartbeatInterval;
        TimeSpan? directoryMissingSince = null;
        while (true)
        {
            if (ReapAll(pid) is { } status) return (status, action, message);
            var now = clock.Elapsed;
            if (now >= nextSample)
            {
                Sample();
                nextSample = now + SampleInterval(now);
            }

            if (action is null && !forwardedTerm)
            {
                if (_dir.CancelRequested)
                {
                    action = HPCJobReason.Cancelled;
                    var request = _dir.TryReadCancel();
                    message = $"Cancelled{(request?.Host is { } host ? $" from {host}" : "")} at {DateTimeOffset.UtcNow:u}.";
                    killAt = now + Grace(request);
                    Log($"cancel requested: TERM, KILL after {Grace(request).TotalSeconds:0.#} s");
                    Signal(LocalNative.SIGTERM);
                }
                else if (timeLimit is { } limit && now >= limit)
                {
                    action = HPCJobReason.Timeout;
                    message = $"Ran past its time limit of {limit.TotalHours:0.###} h.";
                    killAt = now + Grace(null);
                    Log("time limit reached: TERM");
                    Signal(LocalNative.SIGTERM);
                }
                else if (memoryLimit is { } mem && Interlocked.Read(ref _lastRss) > mem)
                {
                    action = HPCJobReason.OutOfMemory;
                    message = $"Its processes used {Interlocked.Read(ref _lastRss) / 1048576.0:0} MiB, more than the {_spec.MemoryGb} GiB requested.";
                    killAt = now;
                    Log("memory limit passed: KILL");
                }
                else if (directoryMissingSince is { } since && now - since >= DirectoryGoneAfter)
                {
                    // Deleted: nobody can read, cancel or clean up this job any more. End it
                    // rather than let it run unseen.
                    action = HPCJobReason.Cancelled;
                    message = $"The job directory {_dir.Path} was deleted while the job ran.";
                    killAt = now + Grace(null);
                    Log("the job directory is gone: TERM");
                    Signal(LocalNative.SIGTERM);
                }
                else if (_terminateRequested)
                {
                    forwardedTerm = true;
                    message = "The runner received SIGTERM and ended the job.";
                    killAt = now + Grace(null);
                    Log("SIGTERM received: TERM to the job");
                    Signal(LocalNative.SIGTERM);
                }
            }

            if (killAt is { } k && now >= k)
            {
                Signal(LocalNative.SIGKILL);
                killAt = now + TimeSpan.FromSeconds(1); // again, for anything forked meanwhile
            }

            if (now >= nextHeartbeat)
            {
                // Missing on two looks in a row, not one: a network file system can blink.
                directoryMissingSince = _dir.Exists ? null : directoryMissingSince ?? now;
                if (directoryMissingSince is null) Heartbeat();
                nextHeartbeat = now + HeartbeatInterval;
            }

            Thread.Sleep(100);
        }
    }

    /// <summary>Reaps every exited child; returns the main process's wait status once it is among them.</summary>
    private static int? ReapAll(int mainPid)
    {
        int? main = null;
        while (true)
        {
            var r = RunnerNative.Wait4(-1, out var status, RunnerNative.WNOHANG, out _);
            if (r <= 0) return main;
            if (r == mainPid) main = status;
        }
    }

    /// <summary>
    /// After the main process: ends what it left running (TERM, grace, KILL), then reaps until
    /// no child is left, so that getrusage covers the whole tree.
    /// </summary>
    private void EndLeftovers(int mainPid)
    {
        var left = LiveDescendants();
        if (left.Count > 0)
        {
            Log($"the job left {left.Count} process(es) running: TERM");
            Sample();
            Signal(LocalNative.SIGTERM);
            var deadline = Stopwatch.StartNew();
            var grace = Grace(_dir.TryReadCancel());
            while (deadline.Elapsed < grace && LiveDescendants().Count > 0)
            {
                ReapAll(mainPid);
                Thread.Sleep(50);
            }

            if (LiveDescendants().Count > 0)
            {
                Log("leftovers still running after the grace period: KILL");
            }
        }

        var limit = Stopwatch.StartNew();
        while (limit.Elapsed < ReapLimit)
        {
            if (LiveDescendants().Count > 0) Signal(LocalNative.SIGKILL);
            ReapAll(mainPid);
            var r = RunnerNative.Wait4(-1, out _, RunnerNative.WNOHANG, out var errno);
            if (r < 0 && errno == LocalNative.ECHILD) return;
            Thread.Sleep(50);
        }

        Log("some processes of the job could not be reaped within 30 s; their CPU time is not counted");
    }

    /// <summary>VmHWM of this process, in bytes (long.MaxValue when unknown: then no children's maxrss is trusted).</summary>
    private static long OwnHighWaterBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
                var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
        }

        return long.MaxValue;
    }

    private List<ProcStat> LiveDescendants() =>
        ProcFs.Descendants(ProcFs.Snapshot(), _self).Where(p => !p.HasExited).ToList();

    /// <summary>Signals every live process of the tree (every descendant of the runner).</summary>
    private void Signal(int signal)
    {
        foreach (var p in LiveDescendants())
        {
            _ = LocalNative.Kill(p.Pid, signal);
            if (signal == LocalNative.SIGTERM) _ = LocalNative.Kill(p.Pid, LocalNative.SIGCONT);
        }
    }

    private void Sample()
    {
        try
        {
            var sum = LiveDescendants().Sum(p => p.RssPages) * ProcFs.PageSize;
            Interlocked.Exchange(ref _lastRss, sum);
            if (sum > Interlocked.Read(ref _peakRss)) Interlocked.Exchange(ref _peakRss, sum);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // /proc hiccup: the next sample counts
        }
    }

    /// <summary>Every 200 ms for the first 30 s, 500 ms to 5 min, then every second.</summary>
    private static TimeSpan SampleInterval(TimeSpan elapsed) =>
        elapsed < TimeSpan.FromSeconds(30) ? TimeSpan.FromMilliseconds(200)
        : elapsed < TimeSpan.FromMinutes(5) ? TimeSpan.FromMilliseconds(500)
        : TimeSpan.FromSeconds(1);

    private TimeSpan Grace(LocalCancelRequest? request) =>
        TimeSpan.FromSeconds(Math.Clamp(request?.GraceSeconds ?? _spec.CancelGraceSeconds, 0, 3600));

    private void Heartbeat()
    {
        try
        {
            _dir.TouchHeartbeat();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log($"heartbeat failed: {e.Message}");
        }
    }

    private string[] BuildEnvironment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = e.Value as string ?? "";
        }

        env.Remove(LocalStoreOptions.RunnerVariable); // the store's password stays with the runner
        foreach (var v in _spec.Environment) env[v.Name] = v.Value;
        env[JobSessionKiller.JobIdVariable] = _spec.Id; // the job's own id, and the mark of its processes
        return env.Select(kv => kv.Key + "=" + kv.Value).ToArray();
    }

    private static LocalJobResult LaunchFailure(string message) => new()
    {
        Reason = LocalJobRecord.ReasonText(HPCJobReason.LaunchFailure),
        FinishedAt = DateTimeOffset.UtcNow,
        Message = message,
        Host = Environment.MachineName,
    };

    /// <summary>result.json first (the durable truth), then the store (which may be down: readers heal it).</summary>
    private void Finish(LocalJobResult result)
    {
        var final = result;
        try
        {
            if (!_dir.TryWriteResult(result))
            {
                Log("a result was recorded already; keeping it");
                final = _dir.TryReadResult() ?? result;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CcatException)
        {
            Log($"cannot write result.json: {e.Message}");
        }

        Log($"job ended: exit {final.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}, reason '{final.Reason}'");
        _runningUpdate?.Wait(); // "running" must not land after the final record
        UpdateStore(LocalJobRecord.ForResult(final), attempts: 4);
    }

    private void UpdateStore(IReadOnlyDictionary<string, string> fields, int attempts)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        for (var i = 1; i <= attempts; i++)
        {
            try
            {
                if (!_store.UpdateAsync(_spec.Id, fields, CancellationToken.None).GetAwaiter().GetResult())
                {
                    Log("the store has no record of this job any more");
                }

                return;
            }
            catch (CcatException e)
            {
                Log($"store update failed ({i}/{attempts}): {e.Message}");
            }

            if (i < attempts)
            {
                Thread.Sleep(delay);
                delay *= 2;
            }
        }
    }

    private static void Log(string message) =>
        Console.Error.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} ccat-runner[{Environment.ProcessId}]: {message}");
}
