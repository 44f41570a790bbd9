using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;
using static CcatWorkflow.Core.Tests.Local.LocalTestKit;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>
/// A submission slow enough that a reader finds its folder before its record (past the launch
/// grace) and rebuilds the record from the folder: that record is the submission's own, so the
/// submission goes on (commit 60896b3; once seen in CI as "exists already"). A record of the
/// same id that was not rebuilt from this folder is still refused.
/// </summary>
[Trait("Tier", "Process")] // runs a real job under the Local runner (build.ps1 -Task Unit leaves it out)
public sealed class LocalSubmitHealRaceTests : IAsyncLifetime
{
    private readonly string _jobRoot = TestInfra.NewTempDirectory("jobs");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => LocalBackendBehaviour.EndEverythingUnder(_jobRoot);

    private LocalBackendOptions Options(TimeSpan launchGrace) => new()
    {
        Store = new LocalStoreOptions { Kind = "file", JobRoot = _jobRoot },
        CancelGrace = TimeSpan.FromSeconds(1),
        LaunchGrace = launchGrace,
        RunnerAssemblyPath = RunnerAssembly,
    };

    [Fact]
    public async Task A_record_a_reader_rebuilt_from_this_submissions_folder_is_accepted_as_its_own()
    {
        // The reader: another process's view of the same job root, whose launch grace is over.
        await using var reader = new LocalBackend(Options(TimeSpan.Zero));
        var options = Options(TimeSpan.FromMinutes(2));
        var inner = options.Store.CreateStore();
        var healedFirst = false;
        var store = new BeforeCreateStore(inner, async id =>
        {
            await reader.GetStatusAsync(id, CancellationToken.None);
            healedFirst = (await inner.GetManyAsync([id], CancellationToken.None))[0] is not null;
        });
        await using var submitter = new LocalBackend(options, store);

        var id = await submitter.SubmitAsync(Job("echo ran", "race"), CancellationToken.None);

        Assert.True(healedFirst, "the reader rebuilt the record before the submission made it");
        var record = (await submitter.Store.GetManyAsync([id], CancellationToken.None))[0];
        Assert.NotNull(record);
        Assert.Equal(Path.Combine(_jobRoot, id), record![LocalJobRecord.JobDir]);
        Assert.True(Directory.Exists(Path.Combine(_jobRoot, id)));
        var info = await WaitAsync(submitter, id);
        Assert.True(info.IsFinished);
    }

    [Fact]
    public async Task A_record_of_the_same_id_from_another_folder_is_still_refused_and_the_folder_removed()
    {
        var options = Options(TimeSpan.FromMinutes(2));
        var inner = options.Store.CreateStore();
        var store = new BeforeCreateStore(inner, id => inner.CreateAsync(id,
            new Dictionary<string, string> { [LocalJobRecord.JobDir] = "/somewhere/else/" + id }, DateTimeOffset.UtcNow, CancellationToken.None));
        await using var submitter = new LocalBackend(options, store);

        await Assert.ThrowsAsync<CcatException>(() => submitter.SubmitAsync(Job("echo never", "race"), CancellationToken.None));

        Assert.DoesNotContain(Directory.EnumerateDirectories(_jobRoot), d => !Path.GetFileName(d).StartsWith('.'));
    }

    /// <summary>A store whose first create lets <paramref name="before"/> run first (the slow submission's window).</summary>
    private sealed class BeforeCreateStore(ILocalJobStore inner, Func<string, Task> before) : ILocalJobStore
    {
        private int _creates;

        public string Description => inner.Description;

        public async Task CreateAsync(string id, IReadOnlyDictionary<string, string> fields, DateTimeOffset submittedAt, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _creates) == 1) await before(id);
            await inner.CreateAsync(id, fields, submittedAt, cancellationToken);
        }

        public Task<IReadOnlyList<IReadOnlyDictionary<string, string>?>> GetManyAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
            inner.GetManyAsync(ids, cancellationToken);

        public Task<bool> UpdateAsync(string id, IReadOnlyDictionary<string, string> fields, CancellationToken cancellationToken) =>
            inner.UpdateAsync(id, fields, cancellationToken);

        public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);

        public Task DeleteAsync(string id, CancellationToken cancellationToken) => inner.DeleteAsync(id, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
