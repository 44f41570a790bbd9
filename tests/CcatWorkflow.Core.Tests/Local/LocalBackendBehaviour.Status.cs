using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;
using static CcatWorkflow.Core.Tests.Local.LocalTestKit;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>
/// Status at campaign scale, on each store: a finished job whose record holds its runner's
/// result is answered from the record alone (no file of its folder is read); many jobs are one
/// batch read of the store; anything not settled is still checked against the folder.
/// </summary>
public abstract partial class LocalBackendBehaviour
{
    [Fact]
    public async Task A_finished_job_is_answered_from_its_record_without_reading_its_folder()
    {
        var id = await Backend.SubmitAsync(Job("echo hi; exit 3", "settled"), default);
        var first = await WaitAsync(Backend, id);
        await EventuallyAsync(() => RawRecordAsync(id).GetAwaiter().GetResult()?["status"] == "failed", "the runner recorded the result in the store");
        await EventuallyAsync(() => new LocalJobDirectory(Path.Combine(JobRoot, id)).ProbeLock() == RunnerLockState.Free, "the runner ended");

        // job.json and result.json unreadable: a look at either would make this job's status an error.
        var dir = new LocalJobDirectory(Path.Combine(JobRoot, id));
        foreach (var name in new[] { LocalJobDirectory.SpecFile, LocalJobDirectory.ResultFile })
        {
            File.WriteAllText(dir.FilePath(name), "not json");
        }

        var again = await Backend.GetStatusAsync(id, default);

        Assert.Equal(HPCJobStatus.Failed, again.Status);
        Assert.Equal(HPCJobReason.NonZeroExit, again.Reason);
        Assert.Equal(3, again.ExitCode);
        Assert.Equal("EXITED 3", again.NativeState);
        Assert.Equal("settled", again.JobName);
        Assert.Equal(first.WallTimeSeconds, again.WallTimeSeconds);
        Assert.Equal(first.CpuHours, again.CpuHours);
        Assert.Equal(first.PeakMemoryGb, again.PeakMemoryGb);
        Assert.Equal(first.SubmittedAt, again.SubmittedAt);
        Assert.Equal(first.StartedAt, again.StartedAt);
        Assert.Equal(first.FinishedAt, again.FinishedAt);
        Assert.Equal(first.Command, again.Command);
        Assert.Equal(first.LogPath, again.LogPath);
    }

    [Fact]
    public async Task A_result_only_the_store_holds_is_written_to_the_folder_by_the_next_reader_and_then_read_from_the_record()
    {
        var id = await FakeJobAsync(runner: null);
        var dir = new LocalJobDirectory(Path.Combine(JobRoot, id));
        var result = new LocalJobResult { ExitCode = 0, WallSeconds = 2, FinishedAt = DateTimeOffset.UtcNow.AddMinutes(-1), StartedAt = DateTimeOffset.UtcNow.AddMinutes(-2) };
        // What a runner whose folder refused result.json (a full disk) leaves: the result in the store only.
        await Backend.Store.UpdateAsync(id, LocalJobRecord.ForResultNotInFolder(result), default);

        var healing = await Backend.GetStatusAsync(id, default);

        Assert.Equal(HPCJobStatus.Completed, healing.Status);
        Assert.Equal(0, dir.TryReadResult()!.ExitCode); // written to the folder by the reader
        Assert.Equal("", (await RawRecordAsync(id))![LocalJobRecord.ResultFile]); // so the mark is gone

        File.WriteAllText(dir.FilePath(LocalJobDirectory.SpecFile), "not json");
        var settled = await Backend.GetStatusAsync(id, default);
        Assert.Equal(HPCJobStatus.Completed, settled.Status);
        Assert.Equal(2, settled.WallTimeSeconds);
    }

    [Fact]
    public async Task A_record_that_says_running_is_checked_against_the_runner_lock_and_reads_lost_when_it_is_free()
    {
        var id = await FakeJobAsync(new LocalRunnerState
        {
            Host = Environment.MachineName, BootId = ProcFs.BootId, PidNamespace = ProcFs.PidNamespace,
            RunnerPid = 1, RunnerStartTicks = 1, JobPid = 1, JobStartTicks = 1, StartedAt = DateTimeOffset.UtcNow.AddMinutes(-5),
        });
        var dir = new LocalJobDirectory(Path.Combine(JobRoot, id));
        File.WriteAllText(dir.FilePath(LocalJobDirectory.LockFile), ""); // a lock nobody holds: the runner is dead
        await Backend.Store.UpdateAsync(id, LocalJobRecord.ForRunning(dir.TryReadRunner()!), default);

        var info = await Backend.GetStatusAsync(id, default);

        Assert.Equal(HPCJobStatus.Failed, info.Status);
        Assert.Equal(HPCJobReason.Lost, info.Reason);
        Assert.Contains("lock", info.Message, StringComparison.Ordinal);
        Assert.Equal("reader", dir.TryReadResult()!.RecordedBy);
    }

    [Fact]
    public async Task The_status_of_600_finished_jobs_is_one_batch_read_of_the_store_and_reads_no_job_file()
    {
        var counting = new CountingStore(StoreOptions(JobRoot).CreateStore());
        await using var backend = new LocalBackend(new LocalBackendOptions { Store = StoreOptions(JobRoot), RunnerAssemblyPath = RunnerAssembly }, counting);
        var ids = new List<string>();
        for (var i = 0; i < 600; i++)
        {
            var id = await FakeJobAsync(runner: null);
            await Backend.Store.UpdateAsync(id, LocalJobRecord.ForResult(i % 7 == 0
                ? new LocalJobResult { ExitCode = 1, Reason = "non_zero_exit", FinishedAt = DateTimeOffset.UtcNow }
                : new LocalJobResult { ExitCode = 0, FinishedAt = DateTimeOffset.UtcNow }), default);
            File.WriteAllText(Path.Combine(JobRoot, id, LocalJobDirectory.SpecFile), "not json"); // read, it would be this job's error
            ids.Add(id);
        }

        counting.Reads.Clear();
        var results = await backend.QueryJobsAsync(ids, default);

        Assert.Equal(ids, results.Select(r => r.JobId));
        Assert.All(results, r => Assert.Null(r.Error));
        Assert.Equal(600 - ids.Where((_, i) => i % 7 == 0).Count(), results.Count(r => r.Info!.Status == HPCJobStatus.Completed));
        Assert.Equal([600], counting.Reads); // one batch of all the ids (more than the default chunk of 500): one round trip with Redis
    }

    /// <summary>The real store, with the size of every batch read kept.</summary>
    private sealed class CountingStore(ILocalJobStore inner) : ILocalJobStore
    {
        public List<int> Reads { get; } = [];

        public string Description => inner.Description;

        public Task CreateAsync(string id, IReadOnlyDictionary<string, string> fields, DateTimeOffset submittedAt, CancellationToken cancellationToken) =>
            inner.CreateAsync(id, fields, submittedAt, cancellationToken);

        public Task<IReadOnlyList<IReadOnlyDictionary<string, string>?>> GetManyAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
        {
            lock (Reads) Reads.Add(ids.Count);
            return inner.GetManyAsync(ids, cancellationToken);
        }

        public Task<bool> UpdateAsync(string id, IReadOnlyDictionary<string, string> fields, CancellationToken cancellationToken) =>
            inner.UpdateAsync(id, fields, cancellationToken);

        public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public Task DeleteAsync(string id, CancellationToken cancellationToken) => inner.DeleteAsync(id, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
