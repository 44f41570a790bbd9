using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Contract;

/// <summary>
/// What every backend promises, through the entry points the cmdlets use. A backend's test
/// class derives from this and supplies <see cref="Backend"/>, a valid id no job has, and how
/// long its jobs may take to finish. Commands are plain /bin/sh ("sleep N; echo X; exit K"),
/// which the in-memory fake reads the same way.
/// </summary>
public abstract class BackendContract
{
    /// <summary>The backend under test.</summary>
    protected abstract HPCBackend Backend { get; }

    /// <summary>An id in the backend's form that names no job.</summary>
    protected abstract string UnknownId { get; }

    /// <summary>How long a short job may take to reach its end on this backend (a bound, not a margin).</summary>
    protected virtual TimeSpan FinishWithin => TimeSpan.FromMinutes(3);

    private static CancellationToken Token => CancellationToken.None;

    private static JobSubmission Job(string command, string name = "contract") =>
        new() { ExecutionCommand = command, JobName = name };

    private async Task<HPCJobInfo> WaitFinishedAsync(string id)
    {
        var deadline = DateTime.UtcNow + FinishWithin;
        while (true)
        {
            var info = await Backend.GetStatusAsync(id, Token);
            if (info.IsFinished) return info;
            Assert.True(DateTime.UtcNow < deadline, $"job {id} did not finish within {FinishWithin}");
            await Task.Delay(200, Token);
        }
    }

    [Fact]
    public async Task A_submitted_job_completes_with_its_exit_code_and_output()
    {
        var id = await Backend.SubmitJobAsync(Job("echo contract-hello; exit 0"), Token);
        var info = await WaitFinishedAsync(id);
        Assert.Equal(HPCJobStatus.Completed, info.Status);
        Assert.Equal(0, info.ExitCode);
        Assert.Equal(Backend.Kind, info.Backend);
        Assert.Equal(id, info.JobId);
        Assert.Contains("contract-hello", await Backend.ReadLogsAsync(id, LogQuery.All, Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_zero_exit_is_a_failed_job_with_that_code()
    {
        var id = await Backend.SubmitJobAsync(Job("exit 3"), Token);
        var info = await WaitFinishedAsync(id);
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(3, info.ExitCode);
        Assert.Equal(HPCJobReason.NonZeroExit, info.Reason);
    }

    [Fact]
    public async Task A_batch_answers_every_distinct_id_in_the_order_given_with_per_job_errors()
    {
        var id = await Backend.SubmitJobAsync(Job("exit 0"), Token);
        var results = await Backend.QueryJobsAsync([UnknownId, id, "not a job id;", id, " " + id + " "], Token);
        Assert.Equal([UnknownId, id, "not a job id;", " " + id + " "], results.Select(r => r.JobId));
        Assert.Equal(CcatErrorId.JobNotFound, results[0].Error?.ErrorId);
        Assert.Equal(id, results[1].Info?.JobId);
        Assert.Equal(CcatErrorId.InvalidJobId, results[2].Error?.ErrorId);
        Assert.Equal(id, results[3].Info?.JobId); // surrounding spaces are not part of an id
    }

    [Fact]
    public async Task An_unknown_id_is_JobNotFound_for_status_and_cancel()
    {
        var e = await Assert.ThrowsAsync<CcatException>(() => Backend.GetStatusAsync(UnknownId, Token));
        Assert.Equal(CcatErrorId.JobNotFound, e.ErrorId);
        Assert.False(e.IsUnavailable);
        var cancel = (await Backend.CancelJobsAsync([UnknownId], Token)).Single();
        Assert.Equal(CcatErrorId.JobNotFound, cancel.Error?.ErrorId);
    }

    [Fact]
    public async Task Cancelling_a_finished_job_is_not_an_error_and_leaves_its_result()
    {
        var id = await Backend.SubmitJobAsync(Job("exit 0"), Token);
        await WaitFinishedAsync(id);
        await Backend.CancelAsync(id, Token);
        var info = await Backend.GetStatusAsync(id, Token);
        Assert.Equal(HPCJobStatus.Completed, info.Status);
        Assert.Equal(0, info.ExitCode);
    }

    [Fact]
    public async Task A_cancelled_running_job_ends_failed_with_reason_cancelled()
    {
        var id = await Backend.SubmitJobAsync(Job("sleep 600"), Token);
        var running = await Backend.GetStatusAsync(id, Token);
        Assert.False(running.IsFinished);
        // Not measured yet is null, never a made-up zero.
        Assert.Null(running.ExitCode);
        Assert.Null(running.FinishedAt);
        var result = (await Backend.CancelJobsAsync([id], Token)).Single();
        Assert.Null(result.Error);
        Assert.Null(result.Info);
        var info = await WaitFinishedAsync(id);
        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.Cancelled, info.Reason);
    }

    [Fact]
    public async Task Tail_returns_the_last_lines_of_the_log()
    {
        var id = await Backend.SubmitJobAsync(Job("echo one; echo two; echo three"), Token);
        await WaitFinishedAsync(id);
        var tail = await Backend.ReadLogsAsync(id, new LogQuery(LogStream.All, 2), Token);
        Assert.Equal("two\nthree\n", tail.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Follow_returns_everything_the_job_wrote_and_ends_with_the_job()
    {
        var id = await Backend.SubmitJobAsync(Job("sleep 1; echo followed-to-the-end"), Token);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(Token);
        limit.CancelAfter(FinishWithin);
        var text = "";
        await foreach (var piece in Backend.StreamLogsAsync(id, LogQuery.All, limit.Token))
        {
            text += piece;
        }

        Assert.Contains("followed-to-the-end", text, StringComparison.Ordinal);
        Assert.True((await Backend.GetStatusAsync(id, Token)).IsFinished);
    }

    [Fact]
    public async Task A_malformed_id_is_InvalidJobId_for_logs()
    {
        var e = await Assert.ThrowsAsync<CcatException>(() => Backend.ReadLogsAsync("not a job id;", LogQuery.All, Token));
        Assert.Equal(CcatErrorId.InvalidJobId, e.ErrorId);
    }

    [Fact]
    public async Task The_listing_holds_a_submitted_job_newest_first()
    {
        var id = await Backend.SubmitJobAsync(Job("exit 0", "contract-list"), Token);
        await WaitFinishedAsync(id);
        var list = await Backend.ListAsync(Token);
        Assert.Contains(list, j => j.JobId == id && j.Backend == Backend.Kind);
        var times = list.Select(j => j.SubmittedAt ?? DateTimeOffset.MinValue).ToList();
        Assert.Equal(times.OrderByDescending(t => t), times);
    }

    [Fact]
    public void An_invalid_submission_is_refused_before_the_backend_sees_it()
    {
        var e = Assert.Throws<CcatException>(() => Backend.PreviewSubmission(Job(" ")));
        Assert.Equal(CcatErrorId.InvalidSubmission, e.ErrorId);
    }
}
