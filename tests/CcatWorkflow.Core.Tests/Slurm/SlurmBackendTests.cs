using System.Collections;
using System.Globalization;
using System.Text;
using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Slurm;

public sealed class SlurmBackendTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"ccat-slurm-unit-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private SlurmBackend Backend(FakeSlurmRunner runner) => new(new SlurmOptions { JobDirectory = _root }, runner);

    private static JobSubmission Submission(string command = "exit 3") => new()
    {
        ExecutionCommand = command,
        Resources = ResourceRequirements.FromDictionary(new Hashtable { ["cpu"] = 1 }),
        Environment = JobSubmission.ValidateEnvironment(new Hashtable { ["A"] = "x'y" }),
        JobName = "unit test",
    };

    [Fact]
    public async Task Submit_writes_the_folder_runs_sbatch_parsable_and_links_the_id()
    {
        var runner = new FakeSlurmRunner((p, a) => FakeSlurmRunner.Ok("4711;ccat\n"));
        var backend = Backend(runner);
        var id = await backend.SubmitAsync(Submission(), CancellationToken.None);
        Assert.Equal("4711", id);
        var call = Assert.Single(runner.Calls);
        Assert.Equal("sbatch", call.Program);
        Assert.Equal("--parsable", call.Arguments[0]);
        var script = call.Arguments[1];
        Assert.EndsWith("/job.sbatch", script, StringComparison.Ordinal);
        // SBATCH_* variables that would override the script's own options are removed
        Assert.True(call.Options!.Environment!.ContainsKey("SBATCH_JOB_NAME"));
        Assert.Null(call.Options.Environment["SBATCH_JOB_NAME"]);
        Assert.True(call.Options.Environment.ContainsKey("SBATCH_CPUS_PER_TASK"));

        var folder = new SlurmJobDirectory(_root).Find("4711");
        Assert.NotNull(folder);
        Assert.Equal(Path.GetDirectoryName(script), folder!.Path);
        Assert.True(File.Exists(folder.ScriptPath));
        Assert.Contains("--job-name=unit_test", await File.ReadAllTextAsync(folder.ScriptPath), StringComparison.Ordinal);
        var meta = SlurmJobDirectory.ReadMetadata(folder)!;
        Assert.Equal("unit test", meta.JobName);
        Assert.Equal("ccat-workflow", meta.Tag);
        Assert.Equal(["A"], meta.EnvironmentNames);
        Assert.InRange(folder.SubmittedAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task Refusal_is_submission_rejected_with_sbatchs_message_and_leaves_nothing()
    {
        var runner = new FakeSlurmRunner((p, a) => FakeSlurmRunner.Fail(1, "sbatch: error: Batch job submission failed: Invalid partition name specified\n"));
        var backend = Backend(runner);
        var ex = await Assert.ThrowsAsync<CcatException>(() => backend.SubmitAsync(Submission(), CancellationToken.None));
        Assert.Equal(CcatErrorId.SubmissionRejected, ex.ErrorId);
        Assert.Contains("Invalid partition name specified", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    [Fact]
    public async Task Unreachable_controller_is_scheduler_unavailable()
    {
        var runner = new FakeSlurmRunner((p, a) => FakeSlurmRunner.Fail(1,
            "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)\n"));
        var ex = await Assert.ThrowsAsync<CcatException>(() => Backend(runner).SubmitAsync(Submission(), CancellationToken.None));
        Assert.Equal(CcatErrorId.SchedulerUnavailable, ex.ErrorId);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    [Fact]
    public async Task Missing_commands_are_scheduler_unavailable()
    {
        var backend = new SlurmBackend(new SlurmOptions { JobDirectory = _root }, new MissingProgramRunner());
        var ex = await Assert.ThrowsAsync<CcatException>(() => backend.GetStatusesAsync(["1"], CancellationToken.None));
        Assert.Equal(CcatErrorId.SchedulerUnavailable, ex.ErrorId);
        var submit = await Assert.ThrowsAsync<CcatException>(() => backend.SubmitAsync(Submission(), CancellationToken.None));
        Assert.Equal(CcatErrorId.SchedulerUnavailable, submit.ErrorId);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    [Fact]
    public async Task Two_hundred_ids_cost_one_squeue_and_one_sacct_with_neutral_environment()
    {
        var ids = Enumerable.Range(1000, 200).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        var sacct = new StringBuilder();
        foreach (var id in ids)
        {
            sacct.Append(CultureInfo.InvariantCulture, $"{id}|{id}|COMPLETED|0:0|1795655922|1795655923|1795655925|2|00:00.010|2||1|None|/w|job|\n");
            sacct.Append(CultureInfo.InvariantCulture, $"{id}.batch|{id}.batch|COMPLETED|0:0|1795655923|1795655923|1795655925|2|00:00.010|2|2048K|1|||batch|\n");
        }

        var runner = new FakeSlurmRunner((p, a) => p == "sacct" ? FakeSlurmRunner.Ok(sacct.ToString()) : FakeSlurmRunner.Ok(""));
        var backend = Backend(runner);
        // The neutral environment is each command's own (asserted below): this process's
        // environment is left alone (tests run in parallel and share it).
        var results = await backend.GetStatusesAsync([.. ids, .. ids.Take(5)], CancellationToken.None);
        Assert.Equal(200, results.Count);
        Assert.All(results, r => Assert.Equal(HPCJobStatus.Completed, r.Info!.Status));
        Assert.Equal(ids, results.Select(r => r.JobId));

        Assert.Equal(1, runner.CountOf("squeue"));
        Assert.Equal(1, runner.CountOf("sacct"));
        Assert.Equal(2, backend.SchedulerCalls);
        foreach (var (program, args, options) in runner.Calls)
        {
            var env = options!.Environment!;
            Assert.Equal("%s", env["SLURM_TIME_FORMAT"]);
            Assert.Equal(SlurmCommands.QueryEnvironment().OrderBy(kv => kv.Key), env.OrderBy(kv => kv.Key)); // SQUEUE_*/SACCT_* removed: below
            Assert.Contains(args, a => a.StartsWith("--format=", StringComparison.Ordinal));
            Assert.Contains(args, a => a == "--jobs=" + string.Join(',', ids));
            if (program == "sacct")
            {
                Assert.Contains("--parsable2", args);
                Assert.Contains(args, a => a.StartsWith("--starttime=", StringComparison.Ordinal));
            }
        }
    }

    [Fact]
    public async Task Ids_are_chunked()
    {
        var ids = Enumerable.Range(1, 1200).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToList();
        var runner = new FakeSlurmRunner((p, a) => FakeSlurmRunner.Ok(""));
        var results = await Backend(runner).GetStatusesAsync(ids, CancellationToken.None);
        Assert.All(results, r => Assert.Equal(CcatErrorId.JobNotFound, r.Error!.ErrorId));
        Assert.Equal(3, runner.CountOf("squeue"));
        Assert.Equal(3, runner.CountOf("sacct"));
    }

    [Fact]
    public async Task Purged_single_id_is_not_an_outage_but_an_unreachable_controller_is()
    {
        var runner = new FakeSlurmRunner((p, a) => p == "squeue"
            ? FakeSlurmRunner.Fail(1, "slurm_load_jobs error: Invalid job id specified\n")
            : FakeSlurmRunner.Ok(RecordedOutput.Read("sacct-finished.txt")));
        var info = await Backend(runner).GetStatusAsync("1", CancellationToken.None);
        Assert.Equal(3, info.ExitCode);

        var down = new FakeSlurmRunner((p, a) => p == "squeue"
            ? FakeSlurmRunner.Fail(1, "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n")
            : FakeSlurmRunner.Ok(""));
        var ex = await Assert.ThrowsAsync<CcatException>(() => Backend(down).GetStatusesAsync(["1"], CancellationToken.None));
        Assert.Equal(CcatErrorId.SchedulerUnavailable, ex.ErrorId);
    }

    [Fact]
    public async Task Accounting_down_gives_per_job_scheduler_unavailable_while_live_jobs_answer()
    {
        var runner = new FakeSlurmRunner((p, a) => p == "squeue"
            ? FakeSlurmRunner.Ok(RecordedOutput.Read("squeue-mixed.txt"))
            : FakeSlurmRunner.Fail(1, "sacct: error: Problem talking to the database: Connection refused\n"));
        var results = await Backend(runner).GetStatusesAsync(["316", "1"], CancellationToken.None);
        Assert.Equal(HPCJobStatus.Running, results[0].Info!.Status);
        Assert.Equal(CcatErrorId.SchedulerUnavailable, results[1].Error!.ErrorId);
    }

    [Fact]
    public async Task Invalid_ids_are_per_job_errors_and_not_sent_to_slurm()
    {
        var runner = new FakeSlurmRunner((p, a) => FakeSlurmRunner.Ok(""));
        var results = await Backend(runner).GetStatusesAsync(["abc", "1;rm -rf /", "12.batch"], CancellationToken.None);
        Assert.All(results, r => Assert.Equal(CcatErrorId.InvalidJobId, r.Error!.ErrorId));
        Assert.Empty(runner.Calls);
    }

    [Fact]
    public async Task Submitted_job_that_nobody_lists_yet_is_pending_and_an_old_reused_id_record_is_ignored()
    {
        var runner = new FakeSlurmRunner((p, a) => p switch
        {
            "sbatch" => FakeSlurmRunner.Ok("1\n"),
            "sacct" => FakeSlurmRunner.Ok(RecordedOutput.Read("sacct-reused-id.txt")),
            _ => FakeSlurmRunner.Ok(""),
        });
        var backend = Backend(runner);
        var id = await backend.SubmitAsync(Submission(), CancellationToken.None);
        var info = await backend.GetStatusAsync(id, CancellationToken.None);
        Assert.Equal(HPCJobStatus.Pending, info.Status); // not the old COMPLETED job 1
        Assert.Equal("unit test", info.JobName);
        var sacctCall = runner.Calls.Single(c => c.Program == "sacct");
        var since = SlurmTime.ParseTimestamp(sacctCall.Arguments.Single(a => a.StartsWith("--starttime=", StringComparison.Ordinal))["--starttime=".Length..]);
        Assert.InRange(since!.Value, DateTimeOffset.UtcNow.AddMinutes(-11), DateTimeOffset.UtcNow.AddMinutes(-9));
    }

    [Fact]
    public async Task Array_parent_id_is_answered_from_its_tasks()
    {
        var runner = new FakeSlurmRunner((p, a) => p == "sacct" ? FakeSlurmRunner.Ok(RecordedOutput.Read("sacct-finished.txt")) : FakeSlurmRunner.Ok(""));
        var results = await Backend(runner).GetStatusesAsync(["306", "306_2", "312"], CancellationToken.None);
        Assert.Equal(HPCJobStatus.Failed, results[0].Info!.Status);
        Assert.Contains("Array of 3 tasks", results[0].Info!.Message, StringComparison.Ordinal);
        Assert.Equal(2, results[1].Info!.ExitCode);
        Assert.Equal(1, results[2].Info!.ExitCode); // the raw id of task 306_1
    }

    [Fact]
    public async Task Cancel_many_is_one_scancel_and_reads_cancelled_afterwards()
    {
        var runner = new FakeSlurmRunner((p, a) => p switch
        {
            "scancel" => FakeSlurmRunner.Fail(0,
                "scancel: Terminating job 316\nscancel: Terminating job 318\nscancel: error: Kill job error on job id 318: Job/step already completing or completed\n"
                + "scancel: Terminating job 77\nscancel: error: Kill job error on job id 77: Invalid job id specified\n"
                + "scancel: Terminating job 78\nscancel: error: Kill job error on job id 78: Access/permission denied\n"),
            "squeue" => FakeSlurmRunner.Ok(RecordedOutput.Read("squeue-mixed.txt")),
            _ => FakeSlurmRunner.Ok(""),
        });
        var backend = Backend(runner);
        var results = await backend.CancelManyAsync(["316", "318", "77", "78", "x"], CancellationToken.None);
        Assert.Equal(1, runner.CountOf("scancel"));
        Assert.Null(results[0].Error);
        Assert.Null(results[1].Error); // finished: not an error
        Assert.Equal(CcatErrorId.JobNotFound, results[2].Error!.ErrorId);
        Assert.Equal(CcatErrorId.CancelFailed, results[3].Error!.ErrorId);
        Assert.Equal(CcatErrorId.InvalidJobId, results[4].Error!.ErrorId);
        var scancel = runner.Calls.First(c => c.Program == "scancel").Arguments;
        Assert.Equal(["--verbose", "316", "318", "77", "78"], scancel);

        var after = await backend.GetStatusAsync("316", CancellationToken.None);
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.Cancelled), (after.Status, after.Reason));
    }

    [Fact]
    public async Task Cancel_with_the_controller_down_is_scheduler_unavailable()
    {
        var runner = new FakeSlurmRunner((p, a) => FakeSlurmRunner.Fail(8,
            "scancel: Terminating job 5\nscancel: Terminating job 6\n"
            + "scancel: error: Kill job error on job id 5: Unable to contact slurm controller (connect failure)\n"
            + "scancel: error: Kill job error on job id 6: Unable to contact slurm controller (connect failure)\n"));
        var ex = await Assert.ThrowsAsync<CcatException>(() => Backend(runner).CancelManyAsync(["5", "6"], CancellationToken.None));
        Assert.Equal(CcatErrorId.SchedulerUnavailable, ex.ErrorId);
        Assert.Contains("Unable to contact slurm controller", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_come_from_the_job_folder_with_tail()
    {
        var runner = new FakeSlurmRunner((p, a) => FakeSlurmRunner.Ok("55\n"));
        var backend = Backend(runner);
        var id = await backend.SubmitAsync(Submission(), CancellationToken.None);
        var folder = new SlurmJobDirectory(_root).Find(id)!;
        await File.WriteAllTextAsync(folder.StdoutPath, "one\ntwo\nthree\n");
        await File.WriteAllTextAsync(folder.StderrPath, "err1\nerr2\n");
        Assert.Equal("one\ntwo\nthree\nerr1\nerr2\n", await backend.GetLogsAsync(id, LogQuery.All, CancellationToken.None));
        Assert.Equal("three\nerr2\n", await backend.GetLogsAsync(id, new LogQuery(LogStream.All, 1), CancellationToken.None));
        Assert.Equal("two\nthree\n", await backend.GetLogsAsync(id, new LogQuery(LogStream.Output, 2), CancellationToken.None));
        Assert.Equal("err1\nerr2\n", await backend.GetLogsAsync(id, new LogQuery(LogStream.Error), CancellationToken.None));
    }

    [Fact]
    public async Task Follow_streams_new_output_until_the_job_ends_asking_slurm_only_now_and_then()
    {
        var ended = false;
        var workDir = "";
        var runner = new FakeSlurmRunner((p, a) => p switch
        {
            "sbatch" => FakeSlurmRunner.Ok("56\n"),
            "squeue" when !Volatile.Read(ref ended) => FakeSlurmRunner.Ok($"56|RUNNING|None|0:01|1795656297|1795656298|{workDir}|n\n"),
            "sacct" when Volatile.Read(ref ended) => FakeSlurmRunner.Ok($"56|56|COMPLETED|0:0|1795656297|1795656298|1795656300|2|00:00.010|2||1|None|{workDir}|n|\n"),
            _ => FakeSlurmRunner.Ok(""),
        });
        var backend = new SlurmBackend(new SlurmOptions { JobDirectory = _root }, runner)
        {
            FollowStatusInterval = TimeSpan.FromMilliseconds(200),
            FollowReadInterval = TimeSpan.FromMilliseconds(20),
        };
        var id = await backend.SubmitAsync(Submission(), CancellationToken.None);
        var folder = new SlurmJobDirectory(_root).Find(id)!;
        workDir = folder.Path;
        await File.WriteAllTextAsync(folder.StdoutPath, "old1\nold2\n");

        var received = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var chunk in backend.FollowLogsAsync(id, new LogQuery(LogStream.Output, 1), timeout.Token))
        {
            received.Append(chunk);
            if (received.ToString() == "old2\n")
            {
                await File.AppendAllTextAsync(folder.StdoutPath, "new ü\n");
            }
            else if (received.ToString().EndsWith("new ü\n", StringComparison.Ordinal) && !Volatile.Read(ref ended))
            {
                await File.AppendAllTextAsync(folder.StdoutPath, "last\n");
                Volatile.Write(ref ended, true);
            }
        }

        Assert.Equal("old2\nnew ü\nlast\n", received.ToString());
        Assert.InRange(runner.CountOf("squeue"), 1, 60);
    }

    [Fact]
    public async Task Describe_shows_the_script_without_submitting()
    {
        var runner = new FakeSlurmRunner((p, a) => throw new InvalidOperationException("nothing may run"));
        var text = Backend(runner).DescribeSubmission(Submission());
        Assert.StartsWith("#!/bin/sh\n", text, StringComparison.Ordinal);
        Assert.Contains("exec /bin/sh -c 'exit 3'", text, StringComparison.Ordinal);
        Assert.Contains("export A='x'\\''y'", text, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_root) && Directory.EnumerateFileSystemEntries(_root).Any());
    }

    [Fact]
    public async Task List_finds_tagged_jobs_and_jobs_in_the_job_directory_newest_first()
    {
        var mine = $"{_root}/20261126T010000Z-0123456789";
        var output = RecordedOutput.Read("sacct-finished.txt").Replace("|/tmp/sl|wrap|\n", $"|{mine}|wrap|\n", StringComparison.Ordinal);
        output = output.Replace("311|311|COMPLETED|0:0|1795655998", "311|311|COMPLETED|0:0|1795656999", StringComparison.Ordinal);
        var runner = new FakeSlurmRunner((p, a) => FakeSlurmRunner.Ok(output + "9|9|COMPLETED|0:0|1795655998|1|2|1|00:00:00|1||1|None|/elsewhere|other|\n"));
        var jobs = await Backend(runner).ListJobsAsync(CancellationToken.None);
        Assert.DoesNotContain(jobs, j => j.JobId == "9");
        Assert.Contains(jobs, j => j.JobId == "2");
        Assert.Equal("311", jobs[0].JobId);
        var call = Assert.Single(runner.Calls);
        Assert.DoesNotContain("--allusers", call.Arguments);
    }

    [Fact]
    public void The_query_environment_removes_every_SQUEUE_and_SACCT_variable_and_fixes_the_time_format()
    {
        var env = SlurmCommands.QueryEnvironment(new System.Collections.Hashtable
        {
            ["SQUEUE_FORMAT"] = "%.5i", ["SACCT_FORMAT"] = "jobid", ["SQUEUE_SORT"] = "-t", ["SLURM_TIME_FORMAT"] = "standard", ["PATH"] = "/bin",
        });
        Assert.Equal(
            [new("SACCT_FORMAT", null), new("SLURM_TIME_FORMAT", "%s"), new("SQUEUE_FORMAT", null), new KeyValuePair<string, string?>("SQUEUE_SORT", null)],
            env.OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Options_built_in_code_are_normalised_like_settings()
    {
        var ok = SlurmOptions.Normalized(new SlurmOptions { JobDirectory = "/ok/", Partition = "science", ExtraDirectives = ["", "#SBATCH --constraint=avx2"] });
        Assert.Equal("/ok", ok.JobDirectory);
        Assert.Equal(["--constraint=avx2"], ok.ExtraDirectives);
    }

    [Fact]
    public async Task A_started_sbatch_is_not_interrupted_by_cancellation()
    {
        using var cts = new CancellationTokenSource();
        var seen = CancellationToken.None;
        var runner = new TokenRecordingRunner((program, token) =>
        {
            seen = token;
            cts.Cancel(); // Ctrl+C while sbatch runs
            return FakeSlurmRunner.Ok("4712\n");
        });
        var id = await new SlurmBackend(new SlurmOptions { JobDirectory = _root }, runner).SubmitAsync(Submission(), cts.Token);
        Assert.Equal("4712", id);
        Assert.False(seen.CanBeCanceled);
        Assert.NotNull(new SlurmJobDirectory(_root).Find("4712"));
    }

    [Fact]
    public async Task A_cancelled_call_submits_nothing()
    {
        var runner = new FakeSlurmRunner((p, a) => FakeSlurmRunner.Ok("1\n"));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Backend(runner).SubmitAsync(Submission(), new CancellationToken(canceled: true)));
        Assert.Empty(runner.Calls);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    [Fact]
    public async Task An_sbatch_that_times_out_keeps_its_folder_and_says_the_outcome_is_unknown()
    {
        var runner = new TokenRecordingRunner((program, token) => throw new TimeoutException("'sbatch' did not finish within 300 s."));
        var ex = await Assert.ThrowsAsync<CcatException>(() => new SlurmBackend(new SlurmOptions { JobDirectory = _root }, runner).SubmitAsync(Submission(), CancellationToken.None));
        Assert.Equal(CcatErrorId.SchedulerUnavailable, ex.ErrorId);
        Assert.Contains("may or may not have been submitted", ex.Message, StringComparison.Ordinal);
        Assert.NotEmpty(Directory.EnumerateDirectories(_root));
    }

    private sealed class TokenRecordingRunner(Func<string, CancellationToken, CommandResult> answer) : ICommandRunner
    {
        public Task<CommandResult> RunAsync(string program, IReadOnlyList<string> arguments, CommandOptions? options, CancellationToken cancellationToken) =>
            Task.FromResult(answer(program, cancellationToken));
    }

    private sealed class MissingProgramRunner : ICommandRunner
    {
        public Task<CommandResult> RunAsync(string program, IReadOnlyList<string> arguments, CommandOptions? options, CancellationToken cancellationToken) =>
            throw new CommandLaunchException(program, new System.ComponentModel.Win32Exception(2, "No such file or directory"));
    }

    [Fact]
    public async Task While_squeue_shows_every_id_live_sacct_is_not_asked_and_then_only_for_the_ids_that_ended()
    {
        var state = "RUNNING";
        var runner = new FakeSlurmRunner((p, a) => p switch
        {
            "squeue" => FakeSlurmRunner.Ok($"1|RUNNING|None|0:01|1795656297|1795656298|/w|n\n2|{Volatile.Read(ref state)}|None|0:02|1795656297|1795656298|/w|n\n"),
            "sacct" => FakeSlurmRunner.Ok("2|2|COMPLETED|0:0|1795656297|1795656298|1795656300|2|00:00.010|2||1|None|/w|n|\n"),
            _ => FakeSlurmRunner.Ok(""),
        });
        var backend = Backend(runner);

        await backend.GetStatusesAsync(["1", "2"], CancellationToken.None);
        Assert.Equal(1, runner.CountOf("sacct")); // nothing known yet: both at once

        var live = await backend.GetStatusesAsync(["1", "2"], CancellationToken.None);
        Assert.Equal(1, runner.CountOf("sacct")); // squeue saw both live last time: squeue alone
        Assert.Equal(2, runner.CountOf("squeue"));
        Assert.All(live, r => Assert.Equal(HPCJobStatus.Running, r.Info!.Status));

        Volatile.Write(ref state, "COMPLETED");
        var ended = await backend.GetStatusesAsync(["1", "2"], CancellationToken.None);
        Assert.Equal(2, runner.CountOf("sacct"));
        var sacctCall = runner.Calls.Last(c => c.Program == "sacct");
        Assert.Contains("--jobs=2", sacctCall.Arguments);
        Assert.Equal(HPCJobStatus.Running, ended[0].Info!.Status);
        Assert.Equal(HPCJobStatus.Completed, ended[1].Info!.Status);
    }
}
