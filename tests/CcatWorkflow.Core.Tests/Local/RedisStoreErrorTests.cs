using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>Redis errors say what was tried, without the client's diagnostics and never with the password.</summary>
public sealed class RedisStoreErrorTests
{
    private const string Password = "hunter2-very-secret";

    // Fragments of StackExchange.Redis's diagnostics dump (counters, thread pool, version).
    private static readonly string[] DumpMarkers = ["mgr:", "IOCP:", "WORKER:", "inst:", "qu:", "v: 2", "clientName", "mc:"];

    [Fact]
    public async Task An_unreachable_server_names_the_endpoint_and_the_operation_and_nothing_else()
    {
        var jobRoot = TestInfra.NewTempDirectory("redis-errors");
        var store = new RedisJobStore(new LocalStoreOptions
        {
            Kind = "redis", JobRoot = jobRoot, RedisHost = "127.0.0.1", RedisPort = 1, RedisPassword = Password,
            RedisConnectTimeoutMs = 500, RedisCommandTimeoutMs = 500,
        });
        await using (store)
        {
            var ex = await Assert.ThrowsAsync<CcatException>(() => store.GetManyAsync(["abc"], CancellationToken.None));
            Assert.Equal(CcatErrorId.StoreUnavailable, ex.ErrorId);
            Assert.Contains("127.0.0.1:1", ex.Message, StringComparison.Ordinal);
            Assert.Contains("could not read the record of job abc", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(Password, ex.Message, StringComparison.Ordinal);
            foreach (var marker in DumpMarkers) Assert.DoesNotContain(marker, ex.Message, StringComparison.Ordinal);
            Assert.True(ex.Message.Length < 300, ex.Message);
        }
    }

    [Fact]
    public void The_reason_never_carries_the_password_even_when_the_server_echoes_it()
    {
        var store = new RedisJobStore(new LocalStoreOptions { Kind = "redis", JobRoot = "/tmp", RedisPassword = Password });
        var reason = store.Reason(new StackExchange.Redis.RedisCommandException($"ERR AUTH {Password} called without any password configured"));
        Assert.DoesNotContain(Password, reason, StringComparison.Ordinal);
        Assert.StartsWith("the server said: ERR AUTH ***", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_ends_when_the_callers_time_is_up_even_while_connecting()
    {
        var jobRoot = TestInfra.NewTempDirectory("redis-deadline");
        // A connect timeout far beyond the caller's: the caller's token must win.
        var store = new RedisJobStore(new LocalStoreOptions
        {
            Kind = "redis", JobRoot = jobRoot, RedisHost = "127.0.0.1", RedisPort = 1,
            RedisConnectTimeoutMs = 60_000, RedisCommandTimeoutMs = 60_000,
        });
        await using (store)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var call = store.GetManyAsync(["abc"], cts.Token);
            var winner = await Task.WhenAny(call, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.Same(call, winner);
            var e = await Record.ExceptionAsync(() => call);
            Assert.True(e is OperationCanceledException || e is CcatException { ErrorId: CcatErrorId.StoreUnavailable }, e?.ToString());
        }
    }
}
