using System.Collections.Concurrent;
using System.Globalization;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Retries;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Retries;

/// <summary>
/// The shared retry rule (HPCBackend.Retries) over a scripted backend whose jobs end at once as
/// a function of their submission, with the file ledger the Local file store and Slurm use.
/// Several backend instances over one "cluster" and one ledger folder stand for several processes.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RetryRuleTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ccat-retry-").FullName;
    private readonly Cluster _cluster = new();

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private ScriptedBackend Process(Func<JobSubmission, (HPCJobStatus, HPCJobReason, int?)> outcome) => new(_cluster, _root, outcome);

    // As Wait-CcatJob does: ask until the job has finished (an attempt just submitted reads pending once).
    private static async Task<HPCJobInfo> SettleAsync(HPCBackend backend, string id)
    {
        for (var i = 0; ; i++)
        {
            var info = await backend.GetStatusAsync(id, default);
            if (info.IsFinished || i == 20) return info;
        }
    }

    private static int AttemptOf(JobSubmission s) => int.Parse(s.Environment.Single(kv => kv.Key == RetryRules.AttemptVariable).Value, System.Globalization.CultureInfo.InvariantCulture);

    // Out of memory below 3 GiB.
    private static (HPCJobStatus, HPCJobReason, int?) NeedsThreeGb(JobSubmission s) =>
        s.Resources.MemoryGb < 3 ? (HPCJobStatus.Failed, HPCJobReason.OutOfMemory, 137) : (HPCJobStatus.Completed, HPCJobReason.None, 0);

    private static JobSubmission Submission(double memoryGb, params HPCJobReason[] on) => new()
    {
        ExecutionCommand = "work",
        JobName = "retry-test",
        Resources = new ResourceRequirements(1, memoryGb, null, null),
        Retry = RetryPolicy.From(on.Length == 0 ? [HPCJobReason.OutOfMemory] : on, 4, 1.5, null, null, 256, 168),
    };

    [Fact]
    public async Task An_out_of_memory_job_is_retried_with_more_memory_under_its_first_id()
    {
        var backend = Process(NeedsThreeGb);
        var id = (await backend.SubmitJobsAsync(Submission(2), default)).Single();
        var info = await backend.GetStatusAsync(id, default);
        Assert.Equal((HPCJobStatus.Pending, 2), (info.Status, info.Attempt)); // the observation that retried it
        info = await SettleAsync(backend, id);

        Assert.Equal(id, info.JobId);
        Assert.Equal(HPCJobStatus.Completed, info.Status);
        Assert.Equal(2, info.Attempt);
        Assert.NotEqual(id, info.AttemptJobId);
        Assert.Equal(3, info.RequestedMemoryGb);
        var first = Assert.Single(info.PreviousAttempts);
        Assert.Equal((1, id, HPCJobReason.OutOfMemory, 137, 2.0), (first.Attempt, first.JobId, first.Reason, first.ExitCode, first.RequestedMemoryGb));
        Assert.Equal([1, 2], _cluster.Submitted.Select(AttemptOf).Order());
    }

    [Fact]
    public async Task A_failure_not_in_RetryOn_is_not_retried()
    {
        var backend = Process(_ => (HPCJobStatus.Failed, HPCJobReason.NonZeroExit, 3));
        var id = (await backend.SubmitJobsAsync(Submission(1), default)).Single();
        var info = await backend.GetStatusAsync(id, default);
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.NonZeroExit, 1), (info.Status, info.Reason, info.Attempt));
        Assert.Empty(info.PreviousAttempts);
        Assert.Single(_cluster.Submitted);
    }

    [Fact]
    public async Task Retries_stop_after_MaxAttempts()
    {
        var backend = Process(_ => (HPCJobStatus.Failed, HPCJobReason.NodeFailure, null));
        var id = (await backend.SubmitJobsAsync(Submission(1, HPCJobReason.NodeFailure), default)).Single();
        var info = await SettleAsync(backend, id);
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.NodeFailure, 4), (info.Status, info.Reason, info.Attempt));
        Assert.Equal([1, 2, 3], info.PreviousAttempts.Select(a => a.Attempt));
        Assert.Equal(4, _cluster.Submitted.Count);
        Assert.Equal(4, (await backend.GetStatusAsync(id, default)).Attempt); // asking again makes nothing new
        Assert.Equal(4, _cluster.Submitted.Count);
    }

    [Fact]
    public async Task Many_processes_observing_one_failure_at_once_make_exactly_one_attempt()
    {
        var submitter = Process(NeedsThreeGb);
        var id = (await submitter.SubmitJobsAsync(Submission(2), default)).Single();
        var observers = Enumerable.Range(0, 16).Select(_ => Process(NeedsThreeGb)).ToList();
        using var start = new ManualResetEventSlim();
        var tasks = observers.Select(o => Task.Run(async () =>
        {
            start.Wait();
            return await o.GetStatusAsync(id, default);
        })).ToList();
        start.Set();
        var seen = await Task.WhenAll(tasks);

        Assert.Equal(2, _cluster.Submitted.Count);
        Assert.Single(_cluster.Submitted, s => AttemptOf(s) == 2);
        // Every observer reads attempt 2: the winner's job, or the claim being submitted (pending).
        Assert.All(seen, i => Assert.Equal(2, i.Attempt));
        Assert.All(seen, i => Assert.Contains(i.Status, new[] { HPCJobStatus.Completed, HPCJobStatus.Pending }));
        Assert.Equal(HPCJobStatus.Completed, (await submitter.GetStatusAsync(id, default)).Status);
    }

    [Fact]
    public async Task A_stopped_job_is_not_retried_and_its_latest_attempt_is_cancelled()
    {
        var backend = Process(NeedsThreeGb);
        _cluster.Hold = true; // jobs stay running until cancelled
        // Whatever the stopped attempt ends with — here a retryable OutOfMemory — nothing follows it.
        _cluster.CancelReason = HPCJobReason.OutOfMemory;
        var id = (await backend.SubmitJobsAsync(Submission(2), default)).Single();
        await backend.CancelAsync(id, default);
        _cluster.Hold = false;
        var info = await Process(NeedsThreeGb).GetStatusAsync(id, default);
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.OutOfMemory, 1), (info.Status, info.Reason, info.Attempt));
        Assert.Single(_cluster.Submitted);
    }

    [Fact]
    public async Task Logs_read_the_latest_attempt_or_the_one_asked_for()
    {
        var backend = Process(NeedsThreeGb);
        var id = (await backend.SubmitJobsAsync(Submission(2), default)).Single();
        var info = await SettleAsync(backend, id);
        Assert.Equal("log of " + info.AttemptJobId, await backend.ReadLogsAsync(id, LogQuery.All, default));
        Assert.Equal("log of " + id, await backend.ReadLogsAsync(id, LogQuery.All with { Attempt = 1 }, default));
        var e = await Assert.ThrowsAsync<CcatException>(() => backend.ReadLogsAsync(id, LogQuery.All with { Attempt = 3 }, default));
        Assert.Equal(CcatErrorId.JobNotFound, e.ErrorId);
        Assert.Contains("2 attempts", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_listing_shows_a_retried_job_once_as_its_latest_attempt()
    {
        var backend = Process(NeedsThreeGb);
        var id = (await backend.SubmitJobsAsync(Submission(2), default)).Single();
        await SettleAsync(backend, id);
        var listed = await backend.ListAsync(default);
        var job = Assert.Single(listed);
        Assert.Equal((id, 2, HPCJobStatus.Completed), (job.JobId, job.Attempt, job.Status));
    }

    [Fact]
    public async Task Removal_never_starts_a_retry_and_removes_every_attempt()
    {
        var backend = Process(NeedsThreeGb);
        var id = (await backend.SubmitJobsAsync(Submission(2), default)).Single();
        // Not observed yet: the removal sees attempt 1 failed and removes it without retrying.
        var r = Assert.Single(await backend.RemoveJobsAsync([id], false, default));
        Assert.Null(r.Error);
        Assert.Single(_cluster.Submitted);

        var second = (await backend.SubmitJobsAsync(Submission(2), default)).Single();
        var attempt = (await SettleAsync(backend, second)).AttemptJobId;
        Assert.Null(Assert.Single(await backend.RemoveJobsAsync([second], false, default)).Error);
        Assert.False(_cluster.Jobs.ContainsKey(second));
        Assert.False(_cluster.Jobs.ContainsKey(attempt));
    }

    [Fact]
    public async Task Claims_are_exclusive_files_one_winner_among_many()
    {
        var ledger = new FileRetryLedger(id => Path.Combine(_root, id), "test");
        Directory.CreateDirectory(Path.Combine(_root, "j1"));
        await ledger.WritePlanAsync("j1", "{}", default);
        var wins = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Task.Run(() => ledger.TryClaimAsync("j1", 2, $"{{\"claimedBy\":\"{i}\"}}", default))));
        Assert.Equal(1, wins.Count(w => w));
        var entry = (await ledger.ReadAsync(["j1", "unknown"], default)).Single();
        Assert.Equal("j1", entry.Key);
        Assert.Equal([2], entry.Value.Claims.Keys);
        Assert.Equal("600", Convert.ToString((int)File.GetUnixFileMode(Path.Combine(_root, "j1", FileRetryLedger.ClaimFile(2))), 8));
    }

    // ------------------------------------------------------------------ arrays: retries per element

    private static int IndexOf(JobSubmission s) => int.Parse(s.Environment.Single(kv => kv.Key == ArrayElementId.IndexVariable).Value, CultureInfo.InvariantCulture);

    // Element 1 runs out of memory below 3 GiB; the others complete; element 2 exits 3 when told to.
    private static (HPCJobStatus, HPCJobReason, int?) ElementOneNeedsThreeGb(JobSubmission s) =>
        IndexOf(s) == 1 && s.Resources.MemoryGb < 3 ? (HPCJobStatus.Failed, HPCJobReason.OutOfMemory, 137) : (HPCJobStatus.Completed, HPCJobReason.None, 0);

    private static JobSubmission ArraySubmission(double memoryGb, params HPCJobReason[] on) =>
        Submission(memoryGb, on) with { ArrayIndex = ArrayIndexSpec.Parse("0-2") };

    [Fact]
    public async Task An_array_element_out_of_memory_is_retried_alone_with_more_memory_and_the_array_completes()
    {
        var backend = Process(ElementOneNeedsThreeGb);
        var ids = await backend.SubmitJobsAsync(ArraySubmission(2), default);
        var arrayId = ArrayElementId.ArrayOf(ids[0])!;
        var first = Assert.Single(await backend.QueryJobsAsync([arrayId], default));
        // The observation that retried element 1: it is being retried, so the array is not failed.
        Assert.Equal(HPCJobStatus.Pending, first.Info!.Status);
        Assert.Equal((HPCJobStatus.Pending, 2), (first.Elements![1].Status, first.Elements[1].Attempt));

        var array = await SettleAsync(backend, arrayId);
        Assert.Equal(HPCJobStatus.Completed, array.Status);
        var elements = Assert.Single(await backend.QueryJobsAsync([arrayId], default)).Elements!;
        Assert.Equal([1, 2, 1], elements.Select(e => e.Attempt));
        var one = elements[1];
        Assert.Equal((ids[1], arrayId, 1, HPCJobStatus.Completed, 3.0), (one.JobId, one.ArrayJobId, one.ArrayIndex, one.Status, one.RequestedMemoryGb));
        Assert.NotEqual(ids[1], one.AttemptJobId);
        Assert.Equal((ids[1], HPCJobReason.OutOfMemory, 2.0), (one.PreviousAttempts[0].JobId, one.PreviousAttempts[0].Reason, one.PreviousAttempts[0].RequestedMemoryGb));
        // The element's own id reads the same; its new attempt is one job that sees the element's index.
        Assert.Equal((2, one.AttemptJobId), ((await backend.GetStatusAsync(ids[1], default)).Attempt, (await backend.GetStatusAsync(ids[1], default)).AttemptJobId));
        var retried = Assert.Single(_cluster.Submitted, s => AttemptOf(s) == 2);
        Assert.Equal((1, null, 3.0), (IndexOf(retried), retried.ArrayIndex, retried.Resources.MemoryGb));
        Assert.Equal(2, _cluster.Submitted.Count);
        // The claim is in the array's folder, apart from other elements'.
        Assert.True(File.Exists(Path.Combine(_root, arrayId, "retry-element-1-attempt-2.json")));
    }

    [Fact]
    public async Task An_array_element_failing_for_a_reason_not_in_RetryOn_is_not_retried_and_the_array_fails()
    {
        var backend = Process(s => IndexOf(s) == 2 ? (HPCJobStatus.Failed, HPCJobReason.NonZeroExit, 3) : (HPCJobStatus.Completed, HPCJobReason.None, 0));
        var ids = await backend.SubmitJobsAsync(ArraySubmission(1), default);
        var array = await SettleAsync(backend, ArrayElementId.ArrayOf(ids[0])!);
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.NonZeroExit), (array.Status, array.Reason));
        var two = await backend.GetStatusAsync(ids[2], default);
        Assert.Equal((HPCJobStatus.Failed, 1), (two.Status, two.Attempt));
        Assert.Single(_cluster.Submitted);
    }

    [Fact]
    public async Task Many_processes_observing_one_failed_element_at_once_make_exactly_one_attempt()
    {
        var ids = await Process(ElementOneNeedsThreeGb).SubmitJobsAsync(ArraySubmission(2), default);
        var arrayId = ArrayElementId.ArrayOf(ids[0])!;
        var observers = Enumerable.Range(0, 16).Select(_ => Process(ElementOneNeedsThreeGb)).ToList();
        using var start = new ManualResetEventSlim();
        // Half ask for the array, half for the element.
        var tasks = observers.Select((o, n) => Task.Run(async () =>
        {
            start.Wait();
            return n % 2 == 0 ? await o.GetStatusAsync(arrayId, default) : await o.GetStatusAsync(ids[1], default);
        })).ToList();
        start.Set();
        await Task.WhenAll(tasks);

        Assert.Single(_cluster.Submitted, s => AttemptOf(s) == 2);
        Assert.Equal(2, _cluster.Submitted.Count);
        Assert.Equal(HPCJobStatus.Completed, (await SettleAsync(observers[0], arrayId)).Status);
    }

    [Fact]
    public async Task An_elements_logs_are_read_by_attempt_and_a_listing_shows_each_element_once()
    {
        var backend = Process(ElementOneNeedsThreeGb);
        var ids = await backend.SubmitJobsAsync(ArraySubmission(2), default);
        await SettleAsync(backend, ArrayElementId.ArrayOf(ids[0])!);
        var one = await backend.GetStatusAsync(ids[1], default);
        Assert.Equal("log of " + one.AttemptJobId, await backend.ReadLogsAsync(ids[1], LogQuery.All, default));
        Assert.Equal("log of " + ids[1], await backend.ReadLogsAsync(ids[1], LogQuery.All with { Attempt = 1 }, default));
        var listed = await backend.ListAsync(default);
        Assert.Equal(ids.Order(StringComparer.Ordinal), listed.Select(j => j.JobId).Order(StringComparer.Ordinal));
        Assert.Equal(2, listed.Single(j => j.JobId == ids[1]).Attempt);
    }

    [Fact]
    public async Task Stopping_an_array_stops_its_elements_retries_and_cancels_their_later_attempts()
    {
        var backend = Process(ElementOneNeedsThreeGb);
        var ids = await backend.SubmitJobsAsync(ArraySubmission(2), default);
        var arrayId = ArrayElementId.ArrayOf(ids[0])!;
        _cluster.Hold = true; // attempt 2 of element 1 runs until cancelled
        Assert.Equal(2, (await backend.GetStatusAsync(ids[1], default)).Attempt);
        await backend.CancelAsync(arrayId, default);
        _cluster.Hold = false;
        var one = await Process(ElementOneNeedsThreeGb).GetStatusAsync(ids[1], default);
        Assert.Equal((HPCJobStatus.Failed, HPCJobReason.Cancelled, 2), (one.Status, one.Reason, one.Attempt));
        Assert.Equal(2, _cluster.Submitted.Count);
        // The array's own plan never gets a "stopped" claim of its own: only its elements do.
        Assert.False(File.Exists(Path.Combine(_root, arrayId, FileRetryLedger.ClaimFile(2))));
    }

    [Fact]
    public async Task Removing_an_array_removes_its_elements_later_attempts_and_never_retries()
    {
        var backend = Process(ElementOneNeedsThreeGb);
        var ids = await backend.SubmitJobsAsync(ArraySubmission(2), default);
        var arrayId = ArrayElementId.ArrayOf(ids[0])!;
        await SettleAsync(backend, arrayId);
        var attempt = (await backend.GetStatusAsync(ids[1], default)).AttemptJobId;
        Assert.Null(Assert.Single(await backend.RemoveJobsAsync([arrayId], false, default)).Error);
        Assert.False(_cluster.Arrays.ContainsKey(arrayId));
        Assert.False(_cluster.Jobs.ContainsKey(attempt));
        Assert.Empty(_cluster.Jobs);

        // Not observed before the removal: the failed element is removed as it is, not retried.
        var again = await backend.SubmitJobsAsync(ArraySubmission(2), default);
        Assert.Null(Assert.Single(await backend.RemoveJobsAsync([ArrayElementId.ArrayOf(again[0])!], false, default)).Error);
        Assert.Equal(3, _cluster.Submitted.Count);
    }

    [Fact]
    public void A_ledger_key_splits_elements_from_jobs()
    {
        Assert.Equal(new RetryLedgerKey("123", 7), RetryLedgerKey.Of("123_7"));
        Assert.Equal(new RetryLedgerKey("job1", null), RetryLedgerKey.Of("job1"));
        Assert.Equal("retry-element-7-attempt-2", RetryLedgerKey.Of("123_7").ClaimName("retry-attempt-", "retry-element-", "-attempt-", 2));
        var claims = RetryLedgerKey.Of("123_7").Claims(
            [new("retry-attempt-2", "a"), new("retry-element-7-attempt-2", "b"), new("retry-element-17-attempt-3", "c"), new("retry-element-7-attempt-x", "d")],
            "retry-attempt-", "retry-element-", "-attempt-");
        Assert.Equal("b", Assert.Single(claims).Value);
    }

    /// <summary>The jobs every "process" sees.</summary>
    private sealed class Cluster
    {
        public ConcurrentDictionary<string, (JobSubmission Submission, HPCJobStatus Status, HPCJobReason Reason, int? Exit)> Jobs { get; } = new(StringComparer.Ordinal);

        public ConcurrentQueue<JobSubmission> SubmittedQueue { get; } = new();

        public IReadOnlyList<JobSubmission> Submitted => SubmittedQueue.ToList();

        public bool Hold { get; set; }

        public HPCJobReason CancelReason { get; set; } = HPCJobReason.Cancelled;

        public ConcurrentDictionary<string, IReadOnlyList<int>> Arrays { get; } = new(StringComparer.Ordinal);

        private int _next;

        public string NextId() => "job" + Interlocked.Increment(ref _next);
    }

    private sealed class ScriptedBackend(Cluster cluster, string root, Func<JobSubmission, (HPCJobStatus, HPCJobReason, int?)> outcome) : HPCBackend
    {
        private readonly FileRetryLedger _ledger = new(id => Path.Combine(root, id), "test ledger");

        public override HPCBackendKind Kind => HPCBackendKind.Local;

        protected override IRetryLedger? RetryLedger => _ledger;

        public override bool SupportsArrays => true;

        // An array: one submission, one folder, one job per element (each sees its index).
        public override async Task<IReadOnlyList<string>> SubmitElementsAsync(JobSubmission submission, CancellationToken cancellationToken)
        {
            if (submission.ArrayIndex is not { } spec) return [await SubmitAsync(submission, cancellationToken)];
            var id = "array" + cluster.NextId();
            Directory.CreateDirectory(Path.Combine(root, id));
            cluster.Arrays[id] = spec.Indices;
            cluster.SubmittedQueue.Enqueue(submission);
            foreach (var i in spec.Indices)
            {
                var element = submission with { ArrayIndex = null, Environment = [.. submission.Environment, new(ArrayElementId.IndexVariable, i.ToString(CultureInfo.InvariantCulture))] };
                var (status, reason, exit) = cluster.Hold ? (HPCJobStatus.Running, HPCJobReason.None, null) : outcome(element);
                cluster.Jobs[ArrayElementId.Format(id, i)] = (element, status, reason, exit);
            }

            return spec.Indices.Select(i => ArrayElementId.Format(id, i)).ToList();
        }

        public override Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
        {
            var id = cluster.NextId();
            Directory.CreateDirectory(Path.Combine(root, id));
            var (status, reason, exit) = cluster.Hold ? (HPCJobStatus.Running, HPCJobReason.None, null) : outcome(submission);
            cluster.Jobs[id] = (submission, status, reason, exit);
            cluster.SubmittedQueue.Enqueue(submission);
            return Task.FromResult(id);
        }

        public override string DescribeSubmission(JobSubmission submission) => submission.ExecutionCommand;

        public override Task<IReadOnlyList<JobQueryResult>> GetStatusesAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<JobQueryResult>>(jobIds.Select(id => cluster.Arrays.TryGetValue(id, out var indices)
                ? ArrayResult(id, indices)
                : cluster.Jobs.TryGetValue(id, out var j)
                    ? new JobQueryResult(id, Info(id, j), null)
                    : new JobQueryResult(id, null, JobNotFound(id))).ToList());

        private JobQueryResult ArrayResult(string id, IReadOnlyList<int> indices)
        {
            var elements = indices.Select(i => ArrayElementId.Format(id, i)).Select(e => Info(e, cluster.Jobs[e])).ToList();
            return new JobQueryResult(id, ArrayStatus.Aggregate(id, Kind, elements), null, elements);
        }

        public override Task<IReadOnlyList<JobQueryResult>> CancelManyAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
        {
            foreach (var id in jobIds.SelectMany(id => cluster.Arrays.TryGetValue(id, out var indices) ? indices.Select(i => ArrayElementId.Format(id, i)) : [id]))
            {
                if (cluster.Jobs.TryGetValue(id, out var j) && j.Status == HPCJobStatus.Running) cluster.Jobs[id] = j with { Status = HPCJobStatus.Failed, Reason = cluster.CancelReason };
            }

            return Task.FromResult<IReadOnlyList<JobQueryResult>>(jobIds.Select(id => new JobQueryResult(id, null, null)).ToList());
        }

        public override Task<string> GetLogsAsync(string jobId, LogQuery query, CancellationToken cancellationToken) => Task.FromResult("log of " + jobId);

        public override Task<IReadOnlyList<HPCJobInfo>> ListJobsAsync(CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<HPCJobInfo>>(cluster.Jobs.Select(kv => Info(kv.Key, kv.Value)).ToList());

        protected override Task<IReadOnlyList<JobQueryResult>> RemoveFinishedAsync(IReadOnlyList<HPCJobInfo> jobs, CancellationToken cancellationToken)
        {
            foreach (var j in jobs)
            {
                cluster.Jobs.TryRemove(j.JobId, out _);
                if (cluster.Arrays.TryRemove(j.JobId, out var indices))
                {
                    foreach (var i in indices) cluster.Jobs.TryRemove(ArrayElementId.Format(j.JobId, i), out _);
                }

                Directory.Delete(Path.Combine(root, j.JobId), recursive: true);
            }

            return Task.FromResult<IReadOnlyList<JobQueryResult>>(jobs.Select(j => new JobQueryResult(j.JobId, j, null)).ToList());
        }

        private HPCJobInfo Info(string id, (JobSubmission Submission, HPCJobStatus Status, HPCJobReason Reason, int? Exit) j)
        {
            var info = new HPCJobInfo(id, Kind, j.Status, j.Submission.JobName, exitCode: j.Exit, reason: j.Reason)
                .WithSubmission(j.Submission.Resources.Cpu, j.Submission.Resources.MemoryGb, j.Submission.Resources.TimeHours, null, j.Submission.ExecutionCommand, null);
            return ArrayElementId.TryParse(id, out var array, out var index) ? ArrayStatus.AsElement(info, array, index) : info;
        }
    }
}
