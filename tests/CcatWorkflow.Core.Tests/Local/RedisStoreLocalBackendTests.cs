using CcatWorkflow.Core.Backends.Local;
using StackExchange.Redis;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>The Local backend's behaviour on the Redis store (a real redis-server).</summary>
[Trait("Tier", "Service")] // needs a test service or a network listener (build.ps1 -Task Unit leaves it out)
public sealed class RedisStoreLocalBackendTests : LocalBackendBehaviour, IClassFixture<RedisServerFixture>
{
    private readonly RedisServerFixture _redis;
    private readonly string _prefix = "ccat-test-" + Guid.NewGuid().ToString("N")[..12];

    public RedisStoreLocalBackendTests(RedisServerFixture redis) => _redis = redis;

    private protected override LocalStoreOptions StoreOptions(string jobRoot) =>
        new() { Kind = "redis", JobRoot = jobRoot, RedisHost = _redis.Socket, RedisKeyPrefix = _prefix };

    /// <summary>A socket nobody listens on; the job directories stay under this class's JobRoot.</summary>
    private protected override LocalStoreOptions UnreachableStoreOptions() =>
        new() { Kind = "redis", JobRoot = JobRoot, RedisHost = Path.Combine(JobRoot, "nobody.sock"), RedisKeyPrefix = _prefix, RedisConnectTimeoutMs = 500 };

    protected override IReadOnlyDictionary<string, string> StoreSettings() => new Dictionary<string, string>
    {
        ["LOCAL_JOB_STORE"] = "redis",
        ["REDIS_HOST"] = _redis.Socket,
        ["REDIS_KEY_PREFIX"] = _prefix,
    };

    protected override async Task<IReadOnlyDictionary<string, string>?> RawRecordAsync(string id) =>
        await ReadRecord(_redis.Database, _prefix, id);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _redis.DeletePrefixAsync(_prefix);
    }

    /// <summary>
    /// The outage: a private redis-server (tests/infra/redis/start.sh in its own state directory)
    /// is saved and stopped, then started again from its dump.
    /// </summary>
    private protected override async Task<StoreOutage> NewOutageScenarioAsync()
    {
        var infra = TestInfra.NewTempDirectory("rds");
        var env = new Dictionary<string, string> { ["CCAT_INFRA_DIR"] = infra, ["CCAT_REDIS_PORT"] = "0", ["CCAT_REDIS_KEEP_DATA"] = "1" };
        var socket = TestInfra.RunScript("tests/infra/redis/start.sh", env)["REDIS_SOCKET"];
        var admin = await RedisServerFixture.ConnectAsync(socket);
        var store = new LocalStoreOptions { Kind = "redis", JobRoot = JobRoot, RedisHost = socket, RedisKeyPrefix = _prefix };
        return new StoreOutage
        {
            Backend = NewBackend(store),
            Break = async () =>
            {
                await admin.GetDatabase().ExecuteAsync("SAVE"); // foreground: the dump is complete when it returns
                TestInfra.RunScript("tests/infra/redis/stop.sh", env);
            },
            Restore = () =>
            {
                TestInfra.RunScript("tests/infra/redis/start.sh", env);
                return Task.CompletedTask;
            },
            RawRecord = async id =>
            {
                await using var c = await RedisServerFixture.ConnectAsync(socket);
                return await ReadRecord(c.GetDatabase(), _prefix, id);
            },
            Cleanup = async () =>
            {
                await admin.DisposeAsync();
                TestInfra.RunScript("tests/infra/redis/stop.sh", env);
                Directory.Delete(infra, recursive: true);
            },
        };
    }

    private static async Task<IReadOnlyDictionary<string, string>?> ReadRecord(IDatabase db, string prefix, string id)
    {
        var entries = await db.HashGetAllAsync($"{prefix}:local:job:{id}");
        return entries.Length == 0 ? null : entries.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString());
    }
}
