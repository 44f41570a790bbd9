using StackExchange.Redis;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>
/// The real redis-server of tests/infra/redis/start.sh (the shared test instance under
/// CCAT_INFRA_DIR, started if it is not running; left running for other test runs). Every test
/// class uses its own key prefix and removes its keys at the end.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private ConnectionMultiplexer? _admin;

    /// <summary>The server's unix socket.</summary>
    public string Socket { get; private set; } = "";

    /// <summary>A connection for assertions and clean-up.</summary>
    public IDatabase Database => _admin!.GetDatabase();

    public async Task InitializeAsync()
    {
        var info = TestInfra.RunScript("tests/infra/redis/start.sh");
        Socket = info["REDIS_SOCKET"];
        _admin = await ConnectAsync(Socket);
    }

    public static async Task<ConnectionMultiplexer> ConnectAsync(string socket)
    {
        var o = new ConfigurationOptions { AbortOnConnectFail = false, ConnectTimeout = 5000, AllowAdmin = true };
        o.EndPoints.Add(new System.Net.Sockets.UnixDomainSocketEndPoint(socket));
        return await ConnectionMultiplexer.ConnectAsync(o);
    }

    /// <summary>Deletes every key under <paramref name="prefix"/>.</summary>
    public async Task DeletePrefixAsync(string prefix)
    {
        var server = _admin!.GetServers().Single();
        await foreach (var key in server.KeysAsync(pattern: prefix + ":*"))
        {
            await Database.KeyDeleteAsync(key);
        }
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null) await _admin.DisposeAsync();
    }
}
