using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;
using static CcatWorkflow.Core.Tests.Local.LocalTestKit;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>
/// Many Local submissions in one call (SubmitManyJobsAsync): one outcome per job, in order, and
/// each job keeps the single submission's guarantee on its own.
/// </summary>
[Trait("Tier", "Process")] // runs real jobs under the Local runner
public sealed class LocalBatchSubmitTests : IAsyncLifetime
{
    private readonly string _jobRoot = TestInfra.NewTempDirectory("jobs");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => LocalBackendBehaviour.EndEverythingUnder(_jobRoot);

    private LocalBackend NewBackend(ILocalJobStore? store = null) => new(new LocalBackendOptions
    {
        Store = new LocalStoreOptions { Kind = "file", JobRoot = _jobRoot },
        CancelGrace = TimeSpan.FromSeconds(1),
        RunnerAssemblyPath = RunnerAssembly,
    }, store);

    [Fact]
    public async Task A_runner_that_fails_in_the_middle_of_a_batch_rolls_back_that_job_alone()
    {
        var inner = new LocalStoreOptions { Kind = "file", JobRoot = _jobRoot }.CreateStore();
        // The third job's folder gets a directory where its runner's lock file goes: its runner
        // ends before runner.json, as a runner that cannot start does.
        await using var backend = NewBackend(new SabotagingStore(inner, _jobRoot, sabotage: 2));
        var jobs = Enumerable.Range(0, 5).Select(i => Job($"echo job{i}", $"batch{i}")).ToList();

        var outcomes = await backend.SubmitManyJobsAsync(jobs, default);

        Assert.Equal([false, false, true, false, false], outcomes.Select(o => o.Error is not null));
        Assert.Equal(CcatErrorId.SubmissionRejected, outcomes[2].Error!.ErrorId);
        var ids = outcomes.Where(o => o.Error is null).Select(o => o.Ids!.Single()).ToList();
        Assert.Equal(ids.Order(), Directory.EnumerateDirectories(_jobRoot).Select(Path.GetFileName).Order());
        Assert.Equal(ids.Order(), (await backend.ListJobsAsync(default)).Select(j => j.JobId).Order());
        for (var k = 0; k < ids.Count; k++)
        {
            var info = await WaitAsync(backend, ids[k]);
            Assert.Equal(HPCJobStatus.Completed, info.Status);
            Assert.Equal(new[] { "batch0", "batch1", "batch3", "batch4" }[k], info.JobName);
        }
    }

    [Fact]
    public async Task A_batch_answers_every_submission_in_order_and_an_invalid_one_is_its_own_error()
    {
        await using var backend = NewBackend();
        var missing = Path.Combine(_jobRoot, "..", "no-such-dir-" + Guid.NewGuid().ToString("N"));
        var jobs = new List<JobSubmission>
        {
            Job("exit 0", "first"),
            Job("exit 0", "nowhere") with { WorkingDirectory = missing },
            Job("exit 4", "third"),
        };

        var outcomes = await backend.SubmitManyJobsAsync(jobs, default);

        Assert.Equal(CcatErrorId.InvalidSubmission, outcomes[1].Error!.ErrorId);
        var first = await WaitAsync(backend, outcomes[0].Ids!.Single());
        var third = await WaitAsync(backend, outcomes[2].Ids!.Single());
        Assert.Equal(("first", HPCJobStatus.Completed), (first.JobName, first.Status));
        Assert.Equal(("third", HPCJobStatus.Failed, 4), (third.JobName, third.Status, third.ExitCode));
        Assert.Equal(2, Directory.EnumerateDirectories(_jobRoot).Count());
    }

    /// <summary>The file store, but after the records are made, job <c>sabotage</c>'s runner.lock becomes a directory.</summary>
    private sealed class SabotagingStore(ILocalJobStore inner, string root, int sabotage) : ILocalJobStore
    {
        public string Description => inner.Description;

        public async Task<IReadOnlyList<CcatException?>> CreateManyAsync(IReadOnlyList<LocalRecordDraft> records, CancellationToken cancellationToken)
        {
            var errors = await inner.CreateManyAsync(records, cancellationToken);
            Directory.CreateDirectory(Path.Combine(root, records[sabotage].Id, LocalJobDirectory.LockFile));
            return errors;
        }

        public Task CreateAsync(string id, IReadOnlyDictionary<string, string> fields, DateTimeOffset submittedAt, CancellationToken cancellationToken) =>
            inner.CreateAsync(id, fields, submittedAt, cancellationToken);

        public Task<IReadOnlyList<IReadOnlyDictionary<string, string>?>> GetManyAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
            inner.GetManyAsync(ids, cancellationToken);

        public Task<bool> UpdateAsync(string id, IReadOnlyDictionary<string, string> fields, CancellationToken cancellationToken) =>
            inner.UpdateAsync(id, fields, cancellationToken);

        public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public Task DeleteAsync(string id, CancellationToken cancellationToken) => inner.DeleteAsync(id, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
