using System.Text.Json;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;
using static CcatWorkflow.Core.Tests.Local.LocalTestKit;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>
/// The Local backend's behaviour, run once per job store (<see cref="FileStoreLocalBackendTests"/>,
/// <see cref="RedisStoreLocalBackendTests"/>): real runner processes, real /bin/sh jobs.
/// </summary>
public abstract partial class LocalBackendBehaviour : IAsyncLifetime
{
    protected LocalBackendBehaviour()
    {
        JobRoot = TestInfra.NewTempDirectory("jobs");
    }

    /// <summary>LOCAL_JOB_DIR of this test.</summary>
    protected string JobRoot { get; }

    private protected LocalBackend Backend { get; private set; } = null!;

    /// <summary>The store this test class runs against.</summary>
    private protected abstract LocalStoreOptions StoreOptions(string jobRoot);

    /// <summary>The same store as settings (CCAT_WORKFLOW_MANAGER_ names without the prefix), for separate processes.</summary>
    protected abstract IReadOnlyDictionary<string, string> StoreSettings();

    /// <summary>A backend on a store that the test can take down and bring back.</summary>
    private protected abstract Task<StoreOutage> NewOutageScenarioAsync();

    /// <summary>A store of this kind that cannot be reached.</summary>
    private protected abstract LocalStoreOptions UnreachableStoreOptions();

    /// <summary>Reads a job's raw record straight from the store.</summary>
    protected abstract Task<IReadOnlyDictionary<string, string>?> RawRecordAsync(string id);

    private protected LocalBackend NewBackend(LocalStoreOptions? store = null, string? dotnetPath = null) =>
        new(new LocalBackendOptions
        {
            Store = store ?? StoreOptions(JobRoot),
            CancelGrace = TimeSpan.FromSeconds(1),
            DotnetPath = dotnetPath,
            RunnerAssemblyPath = RunnerAssembly,
        });

    private IReadOnlyDictionary<string, string> CtlSettings() => new Dictionary<string, string>(StoreSettings())
    {
        ["LOCAL_JOB_DIR"] = JobRoot,
        ["LOCAL_CANCEL_GRACE_SECONDS"] = "1",
    };

    public virtual Task InitializeAsync()
    {
        Backend = NewBackend();
        return Task.CompletedTask;
    }

    public virtual async Task DisposeAsync()
    {
        await Backend.DisposeAsync();
        await EndEverythingUnder(JobRoot);
    }

    /// <summary>Ends whatever a failed test left running under a job root, then removes it.</summary>
    internal static async Task EndEverythingUnder(string jobRoot)
    {
        if (!Directory.Exists(jobRoot)) return;
        foreach (var dir in Directory.EnumerateDirectories(jobRoot))
        {
            var state = new LocalJobDirectory(dir).TryReadRunner();
            if (state is null) continue;
            if (ProcFs.IsAlive(state.RunnerPid, state.RunnerStartTicks)) LocalNative.Kill(state.RunnerPid, LocalNative.SIGKILL);
            await JobSessionKiller.EndAsync(new LocalJobDirectory(dir), TimeSpan.Zero, CancellationToken.None);
            foreach (var pid in JobProcesses(Path.GetFileName(dir))) LocalNative.Kill(pid, LocalNative.SIGKILL); // left the session
        }

        Directory.Delete(jobRoot, recursive: true);
    }

    // ------------------------------------------------------------------ results and metrics

    [Fact]
    public async Task Echo_then_exit_3_fails_with_exit_code_3_and_the_log()
    {
        var id = await Backend.SubmitAsync(Job("echo hello; exit 3", "t1"), default);

        var info = await WaitAsync(Backend, id);

        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(3, info.ExitCode);
        Assert.Equal(HPCJobReason.NonZeroExit, info.Reason);
        Assert.True(info.WallTimeSeconds > 0, $"wall time {info.WallTimeSeconds}");
        Assert.NotNull(info.CpuHours);
        Assert.Equal("t1", info.JobName);
        Assert.Equal(id, info.JobId);
        Assert.Equal("EXITED 3", info.NativeState);
        Assert.Equal("hello\n", await Backend.GetLogsAsync(id, LogQuery.All, default));
    }

    [Fact]
    public async Task Exit_0_completes_with_every_time_set()
    {
        var id = await Backend.SubmitAsync(Job("sleep 0.3"), default);

        var info = await WaitAsync(Backend, id);

        Assert.Equal(HPCJobStatus.Completed, info.Status);
        Assert.Equal(0, info.ExitCode);
        Assert.Equal(HPCJobReason.None, info.Reason);
        Assert.True(info.WallTimeSeconds >= 0.3, $"wall {info.WallTimeSeconds}");
        Assert.True(info.SubmittedAt <= info.StartedAt && info.StartedAt < info.FinishedAt);
        Assert.NotNull(info.PeakMemoryGb);
        var raw = await RawRecordAsync(id);
        Assert.Equal("completed", raw!["status"]);
        Assert.Equal("0", raw["exit_code"]);
    }

    [Fact]
    public async Task A_job_runs_while_its_runner_watches_it()
    {
        var id = await Backend.SubmitAsync(Job("sleep 300"), default);
        var state = await RunnerStateAsync(JobRoot, id);

        var info = await Backend.GetStatusAsync(id, default);

        Assert.Equal(HPCJobStatus.Running, info.Status);
        Assert.Null(info.ExitCode);
        Assert.Equal(state.StartedAt, info.StartedAt);
        await EventuallyAsync(() => RawRecordAsync(id).GetAwaiter().GetResult()?["status"] == "running", "the record says running");
        await Backend.CancelAsync(id, default);
    }

    [Fact]
    public async Task Stdout_and_stderr_are_kept_apart_and_a_tail_reads_the_end()
    {
        var id = await Backend.SubmitAsync(Job("printf 'a\\nb\\nc\\n'; echo err >&2"), default);
        await WaitAsync(Backend, id);

        Assert.Equal("a\nb\nc\n", await Backend.GetLogsAsync(id, new LogQuery(LogStream.Output), default));
        Assert.Equal("err\n", await Backend.GetLogsAsync(id, new LogQuery(LogStream.Error), default));
        Assert.Equal("a\nb\nc\nerr\n", await Backend.GetLogsAsync(id, LogQuery.All, default));
        Assert.Equal("b\nc\n", await Backend.GetLogsAsync(id, new LogQuery(LogStream.Output, 2), default));
        Assert.Equal("c\nerr\n", await Backend.GetLogsAsync(id, new LogQuery(LogStream.All, 1), default));
    }

    [Fact]
    public async Task Environment_values_reach_the_job_exactly_and_the_store_secret_does_not()
    {
        const string hostile = "a b'c\"d $HOME `id` \\n\\ \n second line ✓ ü";
        var id = await Backend.SubmitAsync(Job(
            "printf '%s|%s|%s' \"$X\" \"$CCAT_JOB_ID\" \"${CCAT_LOCAL_RUNNER_STORE-unset}\"",
            env: [new("X", hostile)]), default);

        var info = await WaitAsync(Backend, id);

        Assert.Equal(HPCJobStatus.Completed, info.Status);
        Assert.Equal($"{hostile}|{id}|unset", await Backend.GetLogsAsync(id, new LogQuery(LogStream.Output), default));
    }

    [Fact]
    public async Task The_job_runs_in_its_own_directory_with_stdin_empty()
    {
        var id = await Backend.SubmitAsync(Job("pwd; wc -c"), default);

        await WaitAsync(Backend, id);

        Assert.Equal($"{Path.Combine(JobRoot, id)}\n0\n", await Backend.GetLogsAsync(id, new LogQuery(LogStream.Output), default));
    }

    [Fact]
    public async Task A_command_that_does_not_exist_exits_127()
    {
        var id = await Backend.SubmitAsync(Job("no-such-command-ccat"), default);

        var info = await WaitAsync(Backend, id);

        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(127, info.ExitCode);
        Assert.Equal(HPCJobReason.NonZeroExit, info.Reason);
        Assert.Contains("not found", await Backend.GetLogsAsync(id, new LogQuery(LogStream.Error), default));
    }

    [Fact]
    public async Task A_job_ended_by_a_signal_nobody_sent_reads_signaled_with_128_plus_the_signal()
    {
        var id = await Backend.SubmitAsync(Job("kill -TERM $$; sleep 5"), default);

        var info = await WaitAsync(Backend, id);

        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.Signaled, info.Reason);
        Assert.Equal(128 + 15, info.ExitCode);
        Assert.Equal("SIGNALED 15", info.NativeState);
    }

    [Fact]
    public async Task The_time_limit_ends_the_job_as_a_timeout()
    {
        var id = await Backend.SubmitAsync(Job("sleep 300", resources: ResourceRequirements.FromDictionary(
            new Dictionary<string, object> { ["time_hours"] = 1.0 / 3600 })), default);

        var info = await WaitAsync(Backend, id);

        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.Timeout, info.Reason);
        Assert.Equal("TIMEOUT", info.NativeState);
    }

    [Fact]
    public async Task The_memory_limit_ends_the_job_as_out_of_memory()
    {
        var id = await Backend.SubmitAsync(Job(
            "python3 -c \"import time; b = b'x' * (300 * 1024 * 1024); time.sleep(300)\"",
            resources: ResourceRequirements.FromDictionary(new Dictionary<string, object> { ["memory_gb"] = 0.1 })), default);

        var info = await WaitAsync(Backend, id);

        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.OutOfMemory, info.Reason);
        // the kernel's peak (a memory cgroup: root here) stops at the limit; a sampled one passes it
        Assert.True(info.PeakMemoryGb > 0.09, $"peak {info.PeakMemoryGb}");
    }

    // ------------------------------------------------------------------ cancel

    [Fact]
    public async Task Cancel_ends_the_whole_tree_and_the_job_reads_cancelled()
    {
        var id = await Backend.SubmitAsync(Job("sleep 300 & setsid sleep 301 & (sleep 302 &); echo up; sleep 303; wait"), default);
        var state = await RunnerStateAsync(JobRoot, id);
        await StdoutContainsAsync(JobRoot, id, "up");
        await EventuallyAsync(() => JobProcesses(id).Count >= 5, "the job's five processes");

        await Backend.CancelAsync(id, default);

        var info = await Backend.GetStatusAsync(id, default);
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.Cancelled, info.Reason);
        Assert.Equal("CANCELLED", info.NativeState);
        Assert.Empty(SessionProcesses(state.JobPid));
        Assert.Empty(JobProcesses(id)); // the one that left the session too
        await EventuallyAsync(() => !ProcFs.IsAlive(state.RunnerPid, state.RunnerStartTicks), "the runner ends");
        Assert.Equal("failed", (await RawRecordAsync(id))!["status"]);
        Assert.Equal("cancelled", (await RawRecordAsync(id))!["reason"]);
    }

    [Fact]
    public async Task Cancel_kills_a_job_that_ignores_TERM_after_the_grace_period()
    {
        var id = await Backend.SubmitAsync(Job("trap '' TERM; echo ready; while :; do sleep 1; done"), default);
        var state = await RunnerStateAsync(JobRoot, id);
        await StdoutContainsAsync(JobRoot, id, "ready");

        await Backend.CancelAsync(id, default);

        var info = await Backend.GetStatusAsync(id, default);
        Assert.Equal(HPCJobReason.Cancelled, info.Reason);
        Assert.Equal(128 + 9, info.ExitCode);
        Assert.Empty(SessionProcesses(state.JobPid));
    }

    [Fact]
    public async Task Cancelling_a_finished_job_is_not_an_error_and_changes_nothing()
    {
        var id = await Backend.SubmitAsync(Job("exit 0"), default);
        var before = await WaitAsync(Backend, id);

        await Backend.CancelAsync(id, default);

        var after = await Backend.GetStatusAsync(id, default);
        Assert.Equal(HPCJobStatus.Completed, after.Status);
        Assert.Equal(before.FinishedAt, after.FinishedAt);
        Assert.False(File.Exists(Path.Combine(JobRoot, id, LocalJobDirectory.CancelFile)));
    }

    [Fact]
    public async Task Cancel_and_status_of_unknown_or_malformed_ids_are_per_job_errors()
    {
        var unknown = Guid.NewGuid().ToString("D");

        var e = await Assert.ThrowsAsync<CcatException>(() => Backend.CancelAsync(unknown, default));
        Assert.Equal(CcatErrorId.JobNotFound, e.ErrorId);
        e = await Assert.ThrowsAsync<CcatException>(() => Backend.GetStatusAsync("12345", default));
        Assert.Equal(CcatErrorId.InvalidJobId, e.ErrorId);
        e = await Assert.ThrowsAsync<CcatException>(() => Backend.GetLogsAsync(unknown, LogQuery.All, default));
        Assert.Equal(CcatErrorId.JobNotFound, e.ErrorId);
    }

    [Fact]
    public async Task A_cancel_that_arrives_before_the_runner_starts_the_job_keeps_it_from_running()
    {
        // A submission whose runner has not started yet: job files and record, then the marker.
        var id = Guid.NewGuid().ToString("D");
        var dir = new LocalJobDirectory(Path.Combine(JobRoot, id));
        Directory.CreateDirectory(dir.Path);
        var spec = new LocalJobSpec
        {
            Id = id, Name = "early", Command = "echo ran", WorkingDirectory = "/", SubmittedAt = DateTimeOffset.UtcNow,
            SubmitHost = Environment.MachineName, SubmitBootId = ProcFs.BootId, SubmitPidNamespace = ProcFs.PidNamespace,
        };
        dir.WriteSpec(spec);
        await Backend.Store.CreateAsync(id, LocalJobRecord.ForSubmission(spec, dir.Path), spec.SubmittedAt, default);
        Assert.Equal(HPCJobStatus.Pending, (await Backend.GetStatusAsync(id, default)).Status);
        dir.RequestCancel(new LocalCancelRequest { RequestedAt = DateTimeOffset.UtcNow });

        var run = await RunRunnerAsync(dir.Path);

        Assert.Equal(0, run);
        var info = await Backend.GetStatusAsync(id, default);
        Assert.Equal(HPCJobReason.Cancelled, info.Reason);
        Assert.Null(info.ExitCode);
        Assert.Equal("", await Backend.GetLogsAsync(id, LogQuery.All, default));
    }

    // ------------------------------------------------------------------ no false states

    [Fact]
    public async Task A_runner_killed_without_a_result_makes_the_job_lost_and_its_processes_are_ended()
    {
        var id = await Backend.SubmitAsync(Job("sleep 300 & sleep 300; wait"), default);
        var state = await RunnerStateAsync(JobRoot, id);
        await EventuallyAsync(() => SessionProcesses(state.JobPid).Count >= 3, "the job's three processes");

        LocalNative.Kill(state.RunnerPid, LocalNative.SIGKILL);
        // SIGKILL lands asynchronously: wait for the kernel to have ended the runner and dropped
        // its lock (what a reader's verdict rests on), not only for its /proc entry to change.
        var folder = new LocalJobDirectory(Path.Combine(JobRoot, id));
        await EventuallyAsync(() => !ProcFs.IsAlive(state.RunnerPid, state.RunnerStartTicks) && folder.ProbeLock() == RunnerLockState.Free,
            "the runner gone and its lock free");

        var info = await Backend.GetStatusAsync(id, default);
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.Lost, info.Reason);
        Assert.Null(info.ExitCode);
        Assert.Empty(SessionProcesses(state.JobPid));
        var result = new LocalJobDirectory(Path.Combine(JobRoot, id)).TryReadResult();
        Assert.Equal("reader", result!.RecordedBy);
        Assert.Equal("lost", (await RawRecordAsync(id))!["reason"]);

        // Final: a later look (or a cancel) changes nothing.
        await Backend.CancelAsync(id, default);
        Assert.Equal(info.FinishedAt, (await Backend.GetStatusAsync(id, default)).FinishedAt);
    }

    [Fact]
    public async Task A_runner_told_to_stop_ends_the_job_and_still_records_it()
    {
        var id = await Backend.SubmitAsync(Job("echo up; sleep 300"), default);
        var state = await RunnerStateAsync(JobRoot, id);
        await StdoutContainsAsync(JobRoot, id, "up");

        LocalNative.Kill(state.RunnerPid, LocalNative.SIGTERM); // a shutdown, an operator's kill

        var info = await WaitAsync(Backend, id);
        Assert.Equal(HPCJobReason.Signaled, info.Reason);
        Assert.Equal(128 + 15, info.ExitCode);
        Assert.Equal("runner", new LocalJobDirectory(Path.Combine(JobRoot, id)).TryReadResult()!.RecordedBy);
        Assert.Empty(SessionProcesses(state.JobPid));
    }

    [Fact]
    public async Task A_job_whose_directory_is_deleted_is_ended_by_its_runner()
    {
        var id = await Backend.SubmitAsync(Job("sleep 300 & sleep 300; wait"), default);
        var state = await RunnerStateAsync(JobRoot, id);
        await EventuallyAsync(() => SessionProcesses(state.JobPid).Count >= 3, "the job's three processes");
        try
        {
            try
            {
                Directory.Delete(Path.Combine(JobRoot, id), recursive: true);
            }
            catch (IOException)
            {
                // "Directory not empty": the runner put the folder back while it was being removed
            }

            await EventuallyAsync(() => !ProcFs.IsAlive(state.RunnerPid, state.RunnerStartTicks), "the runner ends");

            Assert.Empty(SessionProcesses(state.JobPid));
            var raw = await RawRecordAsync(id);
            Assert.True(raw is null || (raw["status"] == "failed" && raw["reason"] == "cancelled"), raw is null ? "" : string.Join(", ", raw));
        }
        finally
        {
            if (ProcFs.IsAlive(state.RunnerPid, state.RunnerStartTicks)) LocalNative.Kill(state.RunnerPid, LocalNative.SIGKILL);
            await JobSessionKiller.EndAsync(new LocalJobDirectory(Path.Combine(JobRoot, id)), TimeSpan.Zero, CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_reused_pid_neither_looks_alive_nor_gets_signalled()
    {
        using var unrelated = StartUnrelatedSessionLeader();
        ProcStat stat = default;
        await EventuallyAsync(() => ProcFs.TryReadStat(unrelated.Id) is { Session: var s } st && s == unrelated.Id && (stat = st) != default,
            "the unrelated process leads its session");

        // The runner and the job were recorded with this pid but an earlier start: the pid was reused since.
        var id = await FakeJobAsync(new LocalRunnerState
        {
            Host = Environment.MachineName, BootId = ProcFs.BootId, PidNamespace = ProcFs.PidNamespace,
            RunnerPid = unrelated.Id, RunnerStartTicks = stat.StartTicks - 100,
            JobPid = unrelated.Id, JobStartTicks = stat.StartTicks - 100,
            StartedAt = DateTimeOffset.UtcNow.AddMinutes(-5),
        });

        var info = await Backend.GetStatusAsync(id, default);
        await Backend.CancelAsync(id, default);

        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.Lost, info.Reason);
        Assert.False(unrelated.HasExited);
        Assert.True(ProcFs.IsAlive(unrelated.Id, stat.StartTicks));
        unrelated.Kill();
    }

    [Fact]
    public async Task A_job_whose_runner_never_reported_is_lost_after_the_launch_grace()
    {
        var id = await FakeJobAsync(runner: null, submittedAt: DateTimeOffset.UtcNow.AddMinutes(-10));

        var info = await Backend.GetStatusAsync(id, default);

        Assert.Equal(HPCJobReason.Lost, info.Reason);
        Assert.NotNull(new LocalJobDirectory(Path.Combine(JobRoot, id)).TryReadResult());
    }

    [Fact]
    public async Task A_runner_on_another_host_is_judged_by_its_heartbeat_and_its_verdict_is_not_written()
    {
        var id = await FakeJobAsync(new LocalRunnerState
        {
            Host = "elsewhere", BootId = Guid.NewGuid().ToString(), PidNamespace = "pid:[1]",
            RunnerPid = 1, RunnerStartTicks = 1, JobPid = 1, JobStartTicks = 1, StartedAt = DateTimeOffset.UtcNow.AddMinutes(-5),
        });
        var dir = new LocalJobDirectory(Path.Combine(JobRoot, id));
        dir.TouchHeartbeat();

        Assert.Equal(HPCJobStatus.Running, (await Backend.GetStatusAsync(id, default)).Status);

        File.SetLastWriteTimeUtc(dir.FilePath(LocalJobDirectory.HeartbeatFile), DateTime.UtcNow.AddMinutes(-5));
        var stale = await Backend.GetStatusAsync(id, default);
        Assert.Equal(HPCJobReason.Lost, stale.Reason);
        Assert.False(dir.HasResult); // that host may only be slow: its runner can still write the result
        Assert.Equal("lost", (await RawRecordAsync(id))!["reason"]);
        Assert.Equal(stale.FinishedAt, (await Backend.GetStatusAsync(id, default)).FinishedAt); // the verdict is stable

        dir.TryWriteResult(new LocalJobResult { ExitCode = 0, FinishedAt = DateTimeOffset.UtcNow, WallSeconds = 1 });
        Assert.Equal(HPCJobStatus.Completed, (await Backend.GetStatusAsync(id, default)).Status);
        Assert.Equal("completed", (await RawRecordAsync(id))!["status"]);
    }

    [Fact]
    public async Task A_store_outage_when_the_job_ends_loses_nothing_and_the_record_heals()
    {
        await using var scenario = await NewOutageScenarioAsync();
        var backend = scenario.Backend;
        var id = await backend.SubmitAsync(Job("echo started; sleep 2; echo done; exit 4"), default);
        var jobRoot = backend.Options.JobRoot;
        var state = await RunnerStateAsync(jobRoot, id);
        await StdoutContainsAsync(jobRoot, id, "started");
        IReadOnlyDictionary<string, string>? before = null;
        await EventuallyAsync(() => (before = scenario.RawRecord(id).GetAwaiter().GetResult())?["status"] == "running", "the record says running");

        await scenario.Break();
        var dir = new LocalJobDirectory(Path.Combine(jobRoot, id));
        await EventuallyAsync(() => dir.HasResult && !ProcFs.IsAlive(state.RunnerPid, state.RunnerStartTicks),
            "the runner recorded the result and gave up on the store");
        await scenario.Restore();

        Assert.Equal("running", (await scenario.RawRecord(id))!["status"]); // the runner could not write it
        var info = await StoreOutage.WhenStoreAnswers(() => backend.GetStatusAsync(id, default));
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(4, info.ExitCode);
        var healed = await scenario.RawRecord(id);
        Assert.Equal("failed", healed!["status"]);
        Assert.Equal("4", healed["exit_code"]);
        Assert.Contains("runner.json", Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        Assert.Contains("store update failed", File.ReadAllText(dir.FilePath(LocalJobDirectory.RunnerLogFile)));
    }

    // ------------------------------------------------------------------ several processes

    [Fact]
    public async Task A_job_submitted_by_one_process_is_waited_for_by_a_second_and_cancelled_by_a_third()
    {
        var settings = CtlSettings();
        var submit = await CtlAsync(settings, "submit", "--name", "xproc", "--", "sleep 300 & sleep 300; wait");
        Assert.True(submit.ExitCode == 0, submit.Stderr);
        var id = submit.Stdout.Trim();
        var state = await RunnerStateAsync(JobRoot, id);
        await EventuallyAsync(() => SessionProcesses(state.JobPid).Count >= 3, "the job's processes");
        Assert.NotEqual(Environment.ProcessId, ProcFs.TryReadStat(state.RunnerPid)!.Value.ParentPid);
        Assert.Equal(state.RunnerPid, ProcFs.TryReadStat(state.RunnerPid)!.Value.Session); // its own session

        var waiter = CtlAsync(settings, "wait", id, "--timeout", "120");
        await Task.Delay(500); // let the waiter start waiting (not a timing assertion)
        var cancel = await CtlAsync(settings, "cancel", id);
        var waited = await waiter;

        Assert.True(cancel.ExitCode == 0, cancel.Stderr);
        Assert.True(waited.ExitCode == 0, waited.Stderr);
        using var json = JsonDocument.Parse(waited.Stdout);
        Assert.Equal("Failed", json.RootElement.GetProperty("Status").GetString());
        Assert.Equal("Cancelled", json.RootElement.GetProperty("Reason").GetString());
        Assert.Equal("xproc", json.RootElement.GetProperty("JobName").GetString());
        Assert.Empty(SessionProcesses(state.JobPid));
        Assert.Empty(JobProcesses(id));
    }

    [Fact]
    public async Task Concurrent_submitters_in_threads_and_processes_lose_no_record()
    {
        var settings = CtlSettings();
        var threads = Enumerable.Range(0, 3).Select(t => Task.Run(async () =>
        {
            await using var b = NewBackend();
            var ids = new List<string>();
            for (var i = 0; i < 3; i++) ids.Add(await b.SubmitAsync(Job($"echo {t}-{i}", $"thread{t}-{i}"), default));
            return ids;
        })).ToList();
        var processes = Enumerable.Range(0, 2).Select(p => Task.Run(async () =>
        {
            var ids = new List<string>();
            for (var i = 0; i < 2; i++)
            {
                var r = await CtlAsync(settings, "submit", "--name", $"proc{p}-{i}", "--", $"echo p{p}-{i}");
                Assert.True(r.ExitCode == 0, r.Stderr);
                ids.Add(r.Stdout.Trim());
            }

            return ids;
        })).ToList();

        var submitted = (await Task.WhenAll(threads.Concat(processes))).SelectMany(x => x).ToList();

        Assert.Equal(13, submitted.Distinct().Count());
        var listed = await Backend.ListJobsAsync(default);
        Assert.Equal(submitted.Order(), listed.Select(j => j.JobId).Order());
        foreach (var id in submitted)
        {
            var info = await WaitAsync(Backend, id);
            Assert.Equal(HPCJobStatus.Completed, info.Status);
            var name = info.JobName!;
            var expected = name.StartsWith("thread", StringComparison.Ordinal) ? name["thread".Length..] : "p" + name["proc".Length..];
            Assert.Equal(expected + "\n", await Backend.GetLogsAsync(id, LogQuery.All, default));
        }
    }

    [Fact]
    public async Task Batch_status_answers_each_distinct_id_in_order()
    {
        var a = await Backend.SubmitAsync(Job("exit 0", "a"), default);
        var b = await Backend.SubmitAsync(Job("exit 1", "b"), default);
        await WaitAsync(Backend, a);
        await WaitAsync(Backend, b);
        var unknown = Guid.NewGuid().ToString("D");

        var results = await Backend.GetStatusesAsync([b, "not-an-id", a, unknown, b, a.ToUpperInvariant()], default);

        Assert.Equal([b, "not-an-id", a, unknown, a.ToUpperInvariant()], results.Select(r => r.JobId));
        Assert.Equal(HPCJobStatus.Failed, results[0].Info!.Status);
        Assert.Equal(CcatErrorId.InvalidJobId, results[1].Error!.ErrorId);
        Assert.Equal(HPCJobStatus.Completed, results[2].Info!.Status);
        Assert.Equal(CcatErrorId.JobNotFound, results[3].Error!.ErrorId);
        Assert.Equal(a, results[4].Info!.JobId);
    }

    [Fact]
    public async Task List_returns_the_jobs_newest_first()
    {
        var first = await Backend.SubmitAsync(Job("exit 0", "first"), default);
        var second = await Backend.SubmitAsync(Job("exit 0", "second"), default);

        var listed = await Backend.ListJobsAsync(default);

        Assert.Equal([second, first], listed.Select(j => j.JobId));
    }

    [Fact]
    public async Task A_runner_that_cannot_start_leaves_nothing_half_submitted()
    {
        await using var broken = NewBackend(dotnetPath: "/bin/false");

        var e = await Assert.ThrowsAsync<CcatException>(() => broken.SubmitAsync(Job("echo never"), default));

        Assert.Equal(CcatErrorId.SubmissionRejected, e.ErrorId);
        Assert.Empty(Directory.EnumerateDirectories(JobRoot));
        Assert.Empty(await broken.ListJobsAsync(default));
    }

    [Fact]
    public async Task A_store_that_cannot_be_used_is_StoreUnavailable_and_nothing_is_submitted()
    {
        await using var down = NewBackend(UnreachableStoreOptions());
        var known = await Backend.SubmitAsync(Job("exit 0"), default);

        var submit = await Assert.ThrowsAsync<CcatException>(() => down.SubmitAsync(Job("echo never"), default));
        var status = await Assert.ThrowsAsync<CcatException>(() => down.GetStatusAsync(known, default));
        var list = await Assert.ThrowsAsync<CcatException>(() => down.ListJobsAsync(default));

        Assert.Equal(CcatErrorId.StoreUnavailable, submit.ErrorId);
        Assert.Equal(CcatErrorId.StoreUnavailable, status.ErrorId);
        Assert.Equal(CcatErrorId.StoreUnavailable, list.ErrorId);
        Assert.Equal([known], Directory.EnumerateDirectories(JobRoot).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Following_the_log_returns_everything_until_the_job_ends()
    {
        var id = await Backend.SubmitAsync(Job("for i in 1 2 3 4 5; do echo line$i; sleep 0.3; done; echo oops >&2"), default);

        var pieces = new List<string>();
        await foreach (var piece in Backend.FollowLogsAsync(id, LogQuery.All, default)) pieces.Add(piece);

        var text = string.Concat(pieces);
        Assert.Equal("line1\nline2\nline3\nline4\nline5\n", text.Replace("oops\n", ""));
        Assert.Contains("oops\n", text);
        Assert.True((await Backend.GetStatusAsync(id, default)).IsFinished);
    }

    [Fact]
    public void DescribeSubmission_shows_the_command_line_the_environment_and_the_job_directory()
    {
        var text = Backend.DescribeSubmission(Job("echo 'hi there'", "shown", [new("A_B", "x y")]));

        Assert.Contains("/bin/sh -c 'echo '\\''hi there'\\'''", text);
        Assert.Contains("export A_B='x y'", text);
        Assert.Contains(Path.Combine(JobRoot, "<job-id>"), text);
        Assert.Contains(RunnerLauncher.RunnerFileName, text);
        Assert.Empty(Directory.EnumerateDirectories(JobRoot)); // nothing submitted
    }

    [Fact]
    public async Task The_sif_form_gets_WORKFLOW_OUTPUT_DIR_unless_the_caller_set_it()
    {
        var sif = Job("printf '%s' \"$WORKFLOW_OUTPUT_DIR\"") with { SifPath = "/images/x.sif", OutputDir = "/tmp" };
        var own = sif with { Environment = [new("WORKFLOW_OUTPUT_DIR", "/workflow/workspace/step1")] };

        var a = await Backend.SubmitAsync(sif, default);
        var b = await Backend.SubmitAsync(own, default);
        await WaitAsync(Backend, a);
        await WaitAsync(Backend, b);

        Assert.Equal("/workflow/output", await Backend.GetLogsAsync(a, LogQuery.All, default));
        Assert.Equal("/workflow/workspace/step1", await Backend.GetLogsAsync(b, LogQuery.All, default));
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Live processes anywhere that carry this job's id in their environment.</summary>
    private static List<int> JobProcesses(string id)
    {
        var marker = $"{JobSessionKiller.JobIdVariable}={id}";
        var pids = new List<int>();
        foreach (var p in ProcFs.Snapshot().Where(p => !p.HasExited))
        {
            try
            {
                if (File.ReadAllText($"/proc/{p.Pid}/environ").Split('\0').Contains(marker)) pids.Add(p.Pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone, or not ours to read
            }
        }

        return pids;
    }

    /// <summary>A job's files and record as a submission would leave them, with the given runner state.</summary>
    private async Task<string> FakeJobAsync(LocalRunnerState? runner, DateTimeOffset? submittedAt = null)
    {
        var id = Guid.NewGuid().ToString("D");
        var dir = new LocalJobDirectory(Path.Combine(JobRoot, id));
        Directory.CreateDirectory(dir.Path);
        var spec = new LocalJobSpec
        {
            Id = id, Name = "fake", Command = "true", WorkingDirectory = "/",
            SubmittedAt = submittedAt ?? DateTimeOffset.UtcNow.AddMinutes(-10),
            SubmitHost = Environment.MachineName, SubmitBootId = ProcFs.BootId, SubmitPidNamespace = ProcFs.PidNamespace,
        };
        dir.WriteSpec(spec);
        if (runner is not null) dir.WriteRunner(runner);
        await Backend.Store.CreateAsync(id, LocalJobRecord.ForSubmission(spec, dir.Path), spec.SubmittedAt, default);
        return id;
    }

    /// <summary>Runs the runner in the foreground on a job directory (as the backend would start it).</summary>
    private async Task<int> RunRunnerAsync(string jobDir)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true };
        psi.ArgumentList.Add(RunnerAssembly);
        psi.ArgumentList.Add("run");
        psi.ArgumentList.Add(jobDir);
        psi.Environment[LocalStoreOptions.RunnerVariable] = StoreOptions(JobRoot).ToJson();
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, await err);
        return p.ExitCode;
    }
}

/// <summary>A backend on a store that a test can take down and bring back.</summary>
internal sealed class StoreOutage : IAsyncDisposable
{
    public required LocalBackend Backend { get; init; }

    public required Func<Task> Break { get; init; }

    public required Func<Task> Restore { get; init; }

    public required Func<string, Task<IReadOnlyDictionary<string, string>?>> RawRecord { get; init; }

    public Func<ValueTask>? Cleanup { get; init; }

    /// <summary>Runs <paramref name="call"/> until the store answers it (a restarted server takes a moment to be reconnected).</summary>
    public static async Task<T> WhenStoreAnswers<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (CcatException e) when (e.ErrorId == CcatErrorId.StoreUnavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Backend.DisposeAsync();
        if (Cleanup is not null) await Cleanup();
    }
}
