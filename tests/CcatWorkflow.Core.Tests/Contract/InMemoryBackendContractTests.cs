using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Contract;

/// <summary>The contract on the in-memory fake: the reference for new backend authors (no service needed).</summary>
[Trait("Tier", "Unit")]
public sealed class InMemoryBackendContractTests : BackendContract
{
    private readonly InMemoryBackend _backend = new(TimeSpan.FromMilliseconds(100));

    protected override HPCBackend Backend => _backend;

    protected override string UnknownId => "mem-999999";

    [Fact]
    public async Task A_scheduler_that_cannot_be_asked_fails_the_whole_call_never_a_job()
    {
        var id = await _backend.SubmitJobAsync(new() { ExecutionCommand = "exit 0" }, CancellationToken.None);
        _backend.Unavailable = true;
        var e = await Assert.ThrowsAsync<CcatException>(() => _backend.QueryJobsAsync([id], CancellationToken.None));
        Assert.True(e.IsUnavailable);
        e = await Assert.ThrowsAsync<CcatException>(() => _backend.CancelJobsAsync([id], CancellationToken.None));
        Assert.True(e.IsUnavailable);
    }
}
