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
/// tree, the grace period, then KILL. So does the deletion of the job directory: the runner
/// restores the folder at once (job.json, runner.json, the record) so the job never reads as
/// unknown, and ends it. When the job's main process ends, whatever it left running is ended
/// the same way (as a batch scheduler ends a job step).
/// </para>
/// <para>
/// Trust (docs/security.md): the runner holds an exclusive flock on runner.lock for its whole
/// life, so a reader that can take the lock knows the runner is dead; it hands the job a second
/// descriptor on that file (inherited through setsid and env -i) and, where it can, a cgroup of
/// its own: the marks by which the job's processes are found once the runner is gone. It writes
/// runner.json before it starts the job (so a submission is rolled back only when the job
/// provably never ran), reserves space for the result first, and keeps the result in memory
/// until the folder or the store has accepted it.
/// </para>
/// </summary>
internal sealed partial class JobSupervisor
{
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ReapLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxRecordRetry = TimeSpan.FromSeconds(30);

    private readonly LocalJobDirectory _dir;
    private readonly LocalJobSpec _spec;
    private readonly ILocalJobStore _store;
    private readonly int _self = Environment.ProcessId;
    private volatile bool _terminateRequested;
    private long _peakRss;
    private long _lastRss;
    private Task? _runningUpdate;
    private readonly List<int> _lockFds = [];
    private string? _cgroup;
    private JobMemoryCgroup? _memory;
    private JobCpuCgroup? _cpu;
    private LocalRunnerState? _state;

    /// <summary>job.json as it was read: what a restored folder gets back (never the secrets merged into <see cref="_spec"/>).</summary>
    private readonly LocalJobSpec _specAsWritten;

    /// <summary>The Redis store (a place apart from the job folder); the file store lives in it.</summary>
    private readonly bool _storeIsRedis;

    private JobSupervisor(LocalJobDirectory dir, LocalJobSpec spec, LocalJobSpec specAsWritten, ILocalJobStore store, bool storeIsRedis)
    {
        _storeIsRedis = storeIsRedis;
        _dir = dir;
        _spec = spec;
        _specAsWritten = specAsWritten;
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

        var specAsWritten = spec;
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
            if (spec.ArrayIndex is not null) return ArraySupervisor.Run(dir, spec, specAsWritten, store, storeOptions);
            var supervisor = new JobSupervisor(dir, spec, specAsWritten, store, storeOptions.IsRedis);
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

        // The lock first: held for the runner's whole life, it is what tells a reader the
        // runner is alive (a reader that can take it knows the runner is dead).
        if (TakeLock() is { } lockError)
        {
            Log(lockError);
            return 3;
        }

        // A dependent job: the runner holds its lock and waits for the parents' results first.
        if (LocalArrayFiles.Dependency(_spec) is { } dependency && WaitForParents(dependency) is { } neverRan)
        {
            Finish(neverRan);
            return 0;
        }

        if (_spec.MemoryGb is { } gb)
        {
            _memory = JobMemoryCgroup.TryCreate(_spec.Id, (long)(gb * 1024 * 1024 * 1024), out var noMemory);
            Log(_memory is not null ? $"memory cgroup {_memory.Path} (v{_memory.Version}), limit {_memory.LimitBytes} bytes: the kernel enforces memory_gb" : $"no memory cgroup ({noMemory}); memory_gb is checked by sampling");
        }

        if (_spec.Cpu is { } cpus)
        {
            _cpu = JobCpuCgroup.TryCreate(_spec.Id, cpus, out var noCpu);
            Log(_cpu is not null ? $"cpu cgroup {_cpu.Path} (v{_cpu.Version}), quota {_cpu.QuotaMicros} us per {JobCpuCgroup.PeriodMicros} us: the kernel holds the job to cpu" : $"no cpu cgroup ({noCpu}); cpu is not limited");
        }

        try
        {
            return RunInCgroup();
        }
        finally
        {
            if (_cgroup is not null) JobCgroup.TryLeaveAndRemove(_spec.Id);
            _memory?.Remove();
            _cpu?.Remove();
        }
    }

    private int RunInCgroup()
    {
        try
        {
            // Before the job can fill the disk: the space its result will need.
            _dir.ReserveResultSpace();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log($"cannot reserve space for the result, so the job is not started: {e.Message}");
            return 4;
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

        // runner.json exists before the job does: a submitter that finds the runner gone without
        // it knows for certain that the job never ran (and rolls back); with it, the job stands.
        var state = RunnerClaim.NewState() with
        {
            Cgroup = _cgroup,
            CgroupUse = CgroupUse(),
            MemoryCgroup = _memory?.Path,
            CpuCgroup = _cpu?.Path,
        };
        if (RunnerClaim.Claim(_dir, state, "the job", Log) is { } notClaimed) return notClaimed;

        EnterJobCgroup();
        state = state with { Cgroup = _cgroup, CgroupUse = CgroupUse() };

        // The job's mark: a descriptor on runner.lock that the job and all its descendants
        // inherit (setsid and env -i keep it), without the lock (a separate open).
        var mark = SafeFile.OpenForLock(_dir.FilePath(LocalJobDirectory.LockFile), create: false, inherit: true);
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var environment = BuildEnvironment();
        EnterLimitCgroups(); // last: what the runner allocates in there is charged to the job
        var err = RunnerNative.Spawn("/bin/sh", ["/bin/sh", "-c", _spec.Command], environment,
            _dir.StdoutPath, _dir.StderrPath, out var pid);
        LeaveLimitCgroups();
        if (mark >= 0) SafeFile.Close(mark); // the job has it; the runner does not need it
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
        state = state with { JobPid = pid, JobStartTicks = ticks, StartedAt = startedAt, CgroupUse = CgroupUse(), MemoryCgroup = _memory?.Path, CpuCgroup = _cpu?.Path };
        _state = state;
        try
        {
            _dir.WriteRunner(state);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The copy written before the start stays: the lock still tells readers we live.
            Log($"cannot update runner.json with the job's pid: {e.Message}");
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
        // The kernel's word, where a memory cgroup held the job: its peak, and whether it OOM-killed.
        var kernel = _memory?.ReadEvidence();
        // And how often the CPU quota held it back (read first: on v2 it is the same folder).
        var throttling = _cpu?.ReadEvidence();
        _memory?.Remove(); // before the result: a job that reads finished has no cgroup left
        _cpu?.Remove();
        if (throttling is not null) Log($"cpu quota: throttled in {throttling.ThrottledPeriods?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} of {throttling.Periods?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} periods, {throttling.ThrottledSeconds?.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) ?? "?"} s in all");
        peak = kernel?.PeakBytes ?? peak;
        if (action is null && kernel is not null && kernel.KilledForMemory(exitCode, signal))
        {
            action = HPCJobReason.OutOfMemory;
            message = $"The kernel killed {kernel.OomKills?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "a"} process(es) of the job for passing its memory limit of {_spec.MemoryGb} GiB (cgroup {_memory!.Path}).";
        }
        else if (action is null && kernel?.OomKills > 0)
        {
            message = $"The kernel killed {kernel.OomKills} process(es) of the job for passing its memory limit of {_spec.MemoryGb} GiB; the job still ended well.";
        }

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
            CpuThrottledPeriods = throttling?.ThrottledPeriods,
            CpuThrottledSeconds = throttling?.ThrottledSeconds,
            StartedAt = startedAt,
            FinishedAt = startedAt + clock.Elapsed,
            Message = action is null ? (exitCode == 127 ? "Exit code 127: the shell did not find the command." : message) : message,
            Host = Environment.MachineName,
        });
        return 0;
    }

    /// <summary>
    /// Moves the runner into the job's own cgroup, where one can be made (the job is born in
    /// it). After runner.json, not before: the move waits for the kernel (an RCU grace period,
    /// ~10 ms) and the submitter need not wait for it — the job's processes are members all the
    /// same, since the job starts only after it.
    /// </summary>
    private void EnterJobCgroup()
    {
        _cgroup = JobCgroup.TryEnter(_spec.Id, out var noCgroup);
        Log(_cgroup is not null ? $"job cgroup {_cgroup}" : $"no job cgroup ({noCgroup}); the job's processes are marked by an inherited descriptor on {LocalJobDirectory.LockFile}");
    }

    /// <summary>
    /// Moves the runner into the job's memory and CPU cgroups for the start of the job's shell
    /// (which is born in them); where that fails, the job runs without the one it could not
    /// enter (memory_gb is then sampled, cpu not limited).
    /// </summary>
    private void EnterLimitCgroups()
    {
        if (_memory is not null && !_memory.Enter(out var why))
        {
            Log($"cannot enter the memory cgroup {_memory.Path} ({why}); memory_gb is checked by sampling");
            _memory.Remove();
            _memory = null;
        }

        if (_cpu is not null && !_cpu.Enter(out var noCpu))
        {
            Log($"cannot enter the cpu cgroup {_cpu.Path} ({noCpu}); cpu is not limited");
            _cpu.Remove();
            _cpu = null;
        }
    }

    /// <summary>Moves the runner back out of the job's memory and CPU cgroups once the job's shell is started.</summary>
    private void LeaveLimitCgroups()
    {
        if (_memory is not null && !_memory.Leave()) Log($"warning: the runner could not leave the job's memory cgroup {_memory.Path}; its own memory counts against the job's");
        if (_cpu is not null && !_cpu.Leave()) Log($"warning: the runner could not leave the job's cpu cgroup {_cpu.Path}; its own CPU time counts against the job's quota");
    }

    /// <summary>The cgroups the job runs in, for runner.json and the record: "v1 pids+memory+cpu", "v1 pids", "v2 memory" or "none".</summary>
    private string CgroupUse()
    {
        var parts = new List<(string, int)>(3);
        if (_cgroup is not null) parts.Add(("pids", 1));
        if (_memory is not null) parts.Add(("memory", _memory.Version));
        if (_cpu is not null) parts.Add(("cpu", _cpu.Version));
        return JobCgroup.UseText(parts);
    }

    /// <summary>Opens runner.lock (0600, no symlink) and takes its exclusive flock; null when done, else why not.</summary>
    private string? TakeLock()
    {
        var error = RunnerLock.Take(_dir.FilePath(LocalJobDirectory.LockFile), out var fd);
        if (error is null) _lockFds.Add(fd); // never closed: the lock lives as long as this process
        return error;
    }

    /// <summary>
    /// Waits for the job's main process; returns its wait status and what we did to it. What we
    /// did is decided once, here, from the wait status: a main process that exited on its own
    /// (not by a signal, and not catching SIGTERM when ours was sent) ended before our signal
    /// landed — its own exit code stands, not Cancelled.
    /// </summary>
    private (int Status, HPCJobReason? Action, string? Message) Supervise(int pid, Stopwatch clock)
    {
        TimeSpan? timeLimit = _spec.TimeHours is { } h ? TimeSpan.FromHours(h) : null;
        // Sampled only where no memory cgroup holds the job: there the kernel enforces it.
        long? memoryLimit = _memory is null && _spec.MemoryGb is { } gb ? (long)(gb * 1024 * 1024 * 1024) : null;
        HPCJobReason? action = null;
        string? message = null;
        var forwardedTerm = false;
        var mainCatchesTerm = false;
        TimeSpan? killAt = null;
        var nextSample = SampleInterval(TimeSpan.Zero);
        var nextHeartbeat = HeartbeatInterval;
        var missingLooks = 0;
        while (true)
        {
            if (ReapAll(pid) is { } status) return (status, Landed(status, action, mainCatchesTerm) ? action : null, message);
            var now = clock.Elapsed;
            if (now >= nextSample)
            {
                Sample();
                nextSample = now + SampleInterval(now);
            }

            // Missing on two looks in a row, not one: a network file system can blink.
            missingLooks = _dir.Exists ? 0 : missingLooks + 1;
            if (action is null && !forwardedTerm)
            {
                HPCJobReason? next = null;
                TimeSpan grace = TimeSpan.Zero;
                if (missingLooks >= 2)
                {
                    // Deleted: put the folder back at once (the job must not read as unknown
                    // while it runs), then end the job as its deleter meant.
                    var restored = RestoreDirectory();
                    next = HPCJobReason.Cancelled;
                    message = $"The job directory {_dir.Path} was deleted while the job ran{(restored ? "; the runner restored it and ended the job" : "")}.";
                    grace = Grace(null);
                    Log("the job directory was deleted: TERM");
                }
                else if (_dir.CancelRequested)
                {
                    next = HPCJobReason.Cancelled;
                    var request = _dir.TryReadCancel();
                    message = $"Cancelled{(request?.Host is { } host ? $" from {host}" : "")} at {DateTimeOffset.UtcNow:u}.";
                    grace = Grace(request);
                    Log($"cancel requested: TERM, KILL after {grace.TotalSeconds:0.#} s");
                }
                else if (timeLimit is { } limit && now >= limit)
                {
                    next = HPCJobReason.Timeout;
                    message = $"Ran past its time limit of {limit.TotalHours:0.###} h.";
                    grace = Grace(null);
                    Log("time limit reached: TERM");
                }
                else if (memoryLimit is { } mem && Interlocked.Read(ref _lastRss) > mem)
                {
                    action = HPCJobReason.OutOfMemory;
                    message = $"Its processes used {Interlocked.Read(ref _lastRss) / 1048576.0:0} MiB, more than the {_spec.MemoryGb} GiB requested.";
                    killAt = now;
                    Log("memory limit passed: KILL");
                }
                else if (_terminateRequested)
                {
                    forwardedTerm = true;
                    message = "The runner received SIGTERM and ended the job.";
                    killAt = now + Grace(null);
                    Log("SIGTERM received: TERM to the job");
                    Signal(LocalNative.SIGTERM);
                }

                if (next is not null)
                {
                    // Read before the signal: does the main process handle TERM itself? If not,
                    // our TERM kills it by signal, and a plain exit means it ended on its own.
                    mainCatchesTerm = CatchesTerm(pid);
                    action = next;
                    killAt = now + grace;
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
                if (missingLooks == 0) RunnerClaim.Heartbeat(_dir, Log);
                nextHeartbeat = now + HeartbeatInterval;
            }

            Thread.Sleep(100);
        }
    }

    /// <summary>Did our action decide the job's end? KILL and TERM deaths yes; a plain exit only if the job was handling our TERM.</summary>
    private static bool Landed(int status, HPCJobReason? action, bool mainCatchesTerm)
    {
        if (action is null) return false;
        var (_, signal) = RunnerNative.DecodeStatus(status);
        return signal is not null || mainCatchesTerm;
    }

    /// <summary>True when the process has a handler for SIGTERM (SigCgt in /proc/&lt;pid&gt;/status).</summary>
    private static bool CatchesTerm(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("SigCgt:", StringComparison.Ordinal)) continue;
                var mask = ulong.Parse(line["SigCgt:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                return (mask & (1UL << (LocalNative.SIGTERM - 1))) != 0;
            }
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
        }

        return false;
    }

    /// <summary>
    /// Puts a deleted job folder back: the lock (taken anew: the old one locks a deleted file),
    /// job.json, runner.json, the reserve and, with the file store, the record.
    /// </summary>
    private bool RestoreDirectory()
    {
        try
        {
            _dir.Create();
            if (TakeLock() is { } lockError) Log($"restoring the folder: {lockError}");
            _dir.WriteSpec(_specAsWritten);
            if (_state is { } state) _dir.WriteRunner(state);
            _dir.ReserveResultSpace();
            if (!_storeIsRedis && _state is { } running)
            {
                var fields = LocalJobRecord.ForSubmission(_specAsWritten, _dir.Path);
                foreach (var (k, v) in LocalJobRecord.ForRunning(running)) fields[k] = v;
                _store.CreateAsync(_spec.Id, fields, _spec.SubmittedAt, CancellationToken.None).GetAwaiter().GetResult();
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CcatException)
        {
            Log($"cannot restore the job folder: {e.Message}");
            return false;
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

    private List<ProcStat> LiveDescendants()
    {
        if (_cgroup is not null)
        {
            // Every process of the job is a member of its cgroup (only root can move one out).
            // Reading the member list costs what the job has processes; a /proc scan costs what
            // the machine has — with hundreds of jobs alive, each runner would read every
            // process's stat several times a second (CPU, and garbage that grows its heap).
            var members = new List<ProcStat>();
            foreach (var pid in JobCgroup.ReadProcs(Path.Combine(_cgroup, "cgroup.procs")))
            {
                if (pid != _self && ProcFs.TryReadStat(pid) is { HasExited: false } p) members.Add(p);
            }

            return members;
        }

        // No cgroup: the runner's process tree (as subreaper, every orphan of the job is in it).
        var tree = ProcFs.Descendants(ProcFs.Snapshot(), _self);
        return tree.Where(p => !p.HasExited).ToList();
    }

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

    private string[] BuildEnvironment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = e.Value as string ?? "";
        }

        env.Remove(LocalStoreOptions.RunnerVariable); // the store's password stays with the runner
        foreach (var d in CcatWorkflow.Core.Configuration.SettingsSchema.All.Where(d => d.IsSecret))
        {
            env.Remove(CcatWorkflow.Core.Configuration.SettingsSchema.EnvPrefix + d.Name);
        }

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

    /// <summary>
    /// Records the result durably: result.json first (the truth; into the space reserved at
    /// the start if the disk is full), then the store. Kept in memory and retried until the
    /// folder or the store (Redis) accepts it — a full or read-only disk loses nothing; the
    /// runner holds its lock meanwhile, so no reader calls the job lost.
    /// </summary>
    private void Finish(LocalJobResult result)
    {
        Log($"job ended: exit {result.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}, reason '{result.Reason}'");
        _runningUpdate?.Wait(); // "running" must not land after the final record
        var delay = TimeSpan.FromMilliseconds(200);
        for (var attempt = 1; ; attempt++)
        {
            if (RecordInFolder(result) is { } final)
            {
                UpdateStore(LocalJobRecord.ForResult(final), attempts: 4);
                return;
            }

            if (_storeIsRedis && UpdateStore(LocalJobRecord.ForResultNotInFolder(result), attempts: 1))
            {
                Log("the result is recorded in the store only (the job folder refused it)");
                return;
            }

            if (attempt == 1) Log("the result could not be recorded yet; retrying until the folder or the store accepts it");
            if (!_dir.Exists) RestoreDirectory(); // deleted meanwhile: the result needs a folder
            Thread.Sleep(delay);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRecordRetry.Ticks));
        }
    }

    /// <summary>Writes result.json (normally, else into the reserve); returns the result that stands, or null when the folder refused.</summary>
    private LocalJobResult? RecordInFolder(LocalJobResult result)
    {
        try
        {
            if (_dir.TryWriteResult(result)) return result;
            Log("a result was recorded already; keeping it");
            return _dir.TryReadResult() ?? result;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CcatException)
        {
            Log($"cannot write result.json: {e.Message}");
        }

        try
        {
            if (_dir.TryWriteResultIntoReserve(result)) return result;
            return _dir.TryReadResult() ?? result;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CcatException)
        {
            Log($"cannot write result.json into the reserved space: {e.Message}");
            return null;
        }
    }

    /// <summary>Sets the store's fields, up to <paramref name="attempts"/> tries; true when the store accepted them.</summary>
    private bool UpdateStore(IReadOnlyDictionary<string, string> fields, int attempts)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        for (var i = 1; i <= attempts; i++)
        {
            try
            {
                if (!_store.UpdateAsync(_spec.Id, fields, CancellationToken.None).GetAwaiter().GetResult())
                {
                    Log("the store has no record of this job any more");
                    return false;
                }

                return true;
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

        return false;
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
