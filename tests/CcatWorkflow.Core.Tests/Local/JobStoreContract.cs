using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;
using StackExchange.Redis;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>The <see cref="ILocalJobStore"/> contract, run against both stores.</summary>
public abstract class JobStoreContract : IAsyncLifetime
{
    private protected ILocalJobStore Store { get; private set; } = null!;

    protected string Root { get; } = TestInfra.NewTempDirectory("store");

    private protected abstract ILocalJobStore NewStore();

    /// <summary>A store of this kind that cannot be reached.</summary>
    private protected abstract ILocalJobStore UnreachableStore();

    public virtual Task InitializeAsync()
    {
        Store = NewStore();
        return Task.CompletedTask;
    }

    public virtual async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }

    private static string NewId() => Guid.NewGuid().ToString("D");

    private static Dictionary<string, string> Fields(string id, string name = "n") => new()
    {
        ["id"] = id, ["name"] = name, ["status"] = "pending", ["submitted_at"] = LocalJobRecord.FormatTime(DateTimeOffset.UtcNow),
    };

    [Fact]
    public async Task Records_are_created_read_in_one_batch_updated_and_deleted()
    {
        var a = NewId();
        var b = NewId();
        var missing = NewId();
        await Store.CreateAsync(a, Fields(a, "A"), DateTimeOffset.UtcNow, default);
        await Store.CreateAsync(b, Fields(b, "B"), DateTimeOffset.UtcNow, default);

        Assert.True(await Store.UpdateAsync(a, new Dictionary<string, string> { ["status"] = "running", ["job_pid"] = "42" }, default));
        var got = await Store.GetManyAsync([a, missing, b], default);

        Assert.Equal("A", got[0]!["name"]);
        Assert.Equal("running", got[0]!["status"]);
        Assert.Equal("42", got[0]!["job_pid"]);
        Assert.Null(got[1]);
        Assert.Equal("pending", got[2]!["status"]);

        await Store.DeleteAsync(a, default);
        Assert.Null((await Store.GetManyAsync([a], default))[0]);
        Assert.DoesNotContain(a, await Store.ListAsync(default));
    }

    [Fact]
    public async Task An_update_never_creates_a_record()
    {
        var id = NewId();

        Assert.False(await Store.UpdateAsync(id, new Dictionary<string, string> { ["status"] = "failed" }, default));

        Assert.Null((await Store.GetManyAsync([id], default))[0]);
    }

    [Fact]
    public async Task A_second_create_with_the_same_id_is_refused()
    {
        var id = NewId();
        await Store.CreateAsync(id, Fields(id, "first"), DateTimeOffset.UtcNow, default);

        await Assert.ThrowsAsync<CcatException>(() => Store.CreateAsync(id, Fields(id, "second"), DateTimeOffset.UtcNow, default));

        Assert.Equal("first", (await Store.GetManyAsync([id], default))[0]!["name"]);
    }

    [Fact]
    public async Task Many_records_are_created_together_and_an_existing_id_is_that_record_s_error_alone()
    {
        var taken = NewId();
        await Store.CreateAsync(taken, Fields(taken, "first"), DateTimeOffset.UtcNow, default);
        var ids = new[] { NewId(), taken, NewId(), NewId() };
        var t = DateTimeOffset.UtcNow;

        var errors = await Store.CreateManyAsync(ids.Select((id, i) => new LocalRecordDraft(id, Fields(id, "batch" + i), t.AddSeconds(i))).ToList(), default);

        Assert.Equal([false, true, false, false], errors.Select(e => e is not null));
        Assert.Equal(CcatErrorId.StoreUnavailable, errors[1]!.ErrorId);
        var records = await Store.GetManyAsync(ids, default);
        Assert.Equal(["batch0", "first", "batch2", "batch3"], records.Select(r => r!["name"]));
        Assert.Equal([ids[3], ids[2], ids[0]], (await Store.ListAsync(default)).Where(id => id != taken));
    }

    [Fact]
    public async Task Listing_is_newest_submission_first()
    {
        var t = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 5).Select(_ => NewId()).ToList();
        for (var i = 0; i < ids.Count; i++)
        {
            var f = Fields(ids[i]);
            f["submitted_at"] = LocalJobRecord.FormatTime(t.AddSeconds(i));
            await Store.CreateAsync(ids[i], f, t.AddSeconds(i), default);
        }

        Assert.Equal(ids.AsEnumerable().Reverse(), await Store.ListAsync(default));
    }

    [Fact]
    public async Task Concurrent_writers_of_one_record_lose_none_of_each_other_s_fields()
    {
        var id = NewId();
        await Store.CreateAsync(id, Fields(id), DateTimeOffset.UtcNow, default);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                Assert.True(await Store.UpdateAsync(id, new Dictionary<string, string> { [$"w{w}_{i}"] = "x" }, default));
            }
        })));

        var record = (await Store.GetManyAsync([id], default))[0]!;
        Assert.Equal(80, record.Keys.Count(k => k.StartsWith('w')));
    }

    [Fact]
    public async Task Concurrent_creators_lose_no_record()
    {
        var ids = Enumerable.Range(0, 60).Select(_ => NewId()).ToList();

        await Task.WhenAll(ids.Chunk(10).Select(chunk => Task.Run(async () =>
        {
            await using var own = NewStore(); // as separate submitters would
            foreach (var id in chunk) await own.CreateAsync(id, Fields(id), DateTimeOffset.UtcNow, default);
        })));

        Assert.Equal(ids.Order(), (await Store.ListAsync(default)).Order());
        Assert.All(await Store.GetManyAsync(ids, default), r => Assert.NotNull(r));
    }

    [Fact]
    public async Task A_store_that_cannot_be_reached_is_StoreUnavailable_never_an_answer()
    {
        await using var store = UnreachableStore();
        var id = NewId();

        foreach (var call in new Func<Task>[]
        {
            () => store.GetManyAsync([id], default),
            () => store.CreateAsync(id, Fields(id), DateTimeOffset.UtcNow, default),
            () => store.UpdateAsync(id, Fields(id), default),
            () => store.ListAsync(default),
        })
        {
            var e = await Assert.ThrowsAsync<CcatException>(call);
            Assert.Equal(CcatErrorId.StoreUnavailable, e.ErrorId);
        }
    }
}

public sealed class FileJobStoreTests : JobStoreContract
{
    private protected override ILocalJobStore NewStore() => new FileJobStore(Root);

    /// <summary>LOCAL_JOB_DIR below a regular file: nothing under it can be read or made.</summary>
    private protected override ILocalJobStore UnreachableStore()
    {
        var file = Path.Combine(Root, "not-a-directory");
        File.WriteAllText(file, "");
        return new FileJobStore(Path.Combine(file, "jobs"));
    }

    [Fact]
    public async Task A_record_lock_held_by_another_writer_makes_an_update_StoreUnavailable_and_changes_nothing()
    {
        var store = new FileJobStore(Root, TimeSpan.FromMilliseconds(200));
        var id = Guid.NewGuid().ToString("D");
        await store.CreateAsync(id, new Dictionary<string, string> { ["status"] = "pending" }, DateTimeOffset.UtcNow, default);

        using (new FileStream(Path.Combine(Root, id, FileJobStore.LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var e = await Assert.ThrowsAsync<CcatException>(() => store.UpdateAsync(id, new Dictionary<string, string> { ["status"] = "failed" }, default));
            Assert.Equal(CcatErrorId.StoreUnavailable, e.ErrorId);
            Assert.Equal("pending", (await store.GetManyAsync([id], default))[0]!["status"]); // readers take no lock
        }

        Assert.True(await store.UpdateAsync(id, new Dictionary<string, string> { ["status"] = "failed" }, default));
    }

    [Fact]
    public async Task A_corrupt_record_is_reported_not_mistaken_for_a_job()
    {
        var id = Guid.NewGuid().ToString("D");
        Directory.CreateDirectory(Path.Combine(Root, id));
        File.WriteAllText(Path.Combine(Root, id, FileJobStore.RecordFile), "{ not json");

        var e = await Assert.ThrowsAsync<CcatException>(() => Store.GetManyAsync([id], default));

        Assert.Equal(CcatErrorId.StoreUnavailable, e.ErrorId);
        Assert.Empty(await Store.ListAsync(default));
    }
}

[Trait("Tier", "Service")] // needs a test service or a network listener (build.ps1 -Task Unit leaves it out)
public sealed class RedisJobStoreTests : JobStoreContract, IClassFixture<RedisServerFixture>
{
    private readonly RedisServerFixture _redis;
    private readonly string _prefix = "ccat-test-" + Guid.NewGuid().ToString("N")[..12];

    public RedisJobStoreTests(RedisServerFixture redis) => _redis = redis;

    private protected override ILocalJobStore NewStore() =>
        new RedisJobStore(new LocalStoreOptions { Kind = "redis", JobRoot = Root, RedisHost = _redis.Socket, RedisKeyPrefix = _prefix });

    private protected override ILocalJobStore UnreachableStore() =>
        new RedisJobStore(new LocalStoreOptions
        {
            Kind = "redis", JobRoot = Root, RedisHost = Path.Combine(Root, "no-such.sock"), RedisConnectTimeoutMs = 500,
        });

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _redis.DeletePrefixAsync(_prefix);
    }

    [Fact]
    public async Task The_key_layout_is_a_hash_per_job_and_a_sorted_set_by_submission_time()
    {
        var id = Guid.NewGuid().ToString("D");
        var at = DateTimeOffset.UtcNow;

        await Store.CreateAsync(id, new Dictionary<string, string> { ["status"] = "pending", ["name"] = "k" }, at, default);

        Assert.Equal("k", (await _redis.Database.HashGetAsync($"{_prefix}:local:job:{id}", "name")).ToString());
        Assert.Equal(at.ToUnixTimeMilliseconds(), await _redis.Database.SortedSetScoreAsync($"{_prefix}:local:jobs", id));
    }

    [Fact]
    public async Task Many_records_are_created_in_one_call_to_the_server()
    {
        // A private server: the shared one counts every other test run's commands too.
        var infra = TestInfra.NewTempDirectory("rbatch");
        var env = new Dictionary<string, string> { ["CCAT_INFRA_DIR"] = infra, ["CCAT_REDIS_PORT"] = "0" };
        var socket = TestInfra.RunScript("tests/infra/redis/start.sh", env)["REDIS_SOCKET"];
        try
        {
            await using var admin = await RedisServerFixture.ConnectAsync(socket);
            await using var store = new RedisJobStore(new LocalStoreOptions { Kind = "redis", JobRoot = Root, RedisHost = socket, RedisKeyPrefix = _prefix });
            _ = await store.ListAsync(default); // connected before counting
            var ids = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid().ToString("D")).ToList();
            var before = await CommandCallsAsync(admin.GetDatabase());

            var errors = await store.CreateManyAsync(ids.Select(id => new LocalRecordDraft(id, new Dictionary<string, string> { ["name"] = id }, DateTimeOffset.UtcNow)).ToList(), default);

            var after = await CommandCallsAsync(admin.GetDatabase());
            Assert.All(errors, Assert.Null);
            Assert.Equal(1, Delta("eval") + Delta("evalsha")); // one call for all twenty
            Assert.Equal(0, Delta("multi")); // no transaction per record
            Assert.Equal(20, Delta("zadd")); // every record indexed, inside that one call
            Assert.Equal(ids, (await store.GetManyAsync(ids, default)).Select(r => r!["name"]));

            long Delta(string command) => after.GetValueOrDefault(command) - before.GetValueOrDefault(command);
        }
        finally
        {
            TestInfra.RunScript("tests/infra/redis/stop.sh", env);
            Directory.Delete(infra, recursive: true);
        }
    }

    [Fact]
    public async Task A_server_that_refuses_scripts_still_takes_a_batch_one_transaction_per_record()
    {
        // Sites may take @scripting away from the store's user: the batch must not fail for that.
        var infra = TestInfra.NewTempDirectory("rnoscript");
        var env = new Dictionary<string, string> { ["CCAT_INFRA_DIR"] = infra, ["CCAT_REDIS_PORT"] = "0" };
        var socket = TestInfra.RunScript("tests/infra/redis/start.sh", env)["REDIS_SOCKET"];
        try
        {
            await using var admin = await RedisServerFixture.ConnectAsync(socket);
            await admin.GetDatabase().ExecuteAsync("ACL", "SETUSER", "default", "-@scripting");
            await using var store = new RedisJobStore(new LocalStoreOptions { Kind = "redis", JobRoot = Root, RedisHost = socket, RedisKeyPrefix = _prefix });
            var taken = Guid.NewGuid().ToString("D");
            await store.CreateAsync(taken, new Dictionary<string, string> { ["name"] = "first" }, DateTimeOffset.UtcNow, default);
            var ids = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid().ToString("D")).Append(taken).ToList();
            var before = await CommandCallsAsync(admin.GetDatabase());

            var errors = await store.CreateManyAsync(ids.Select(id => new LocalRecordDraft(id, new Dictionary<string, string> { ["name"] = id }, DateTimeOffset.UtcNow)).ToList(), default);

            var after = await CommandCallsAsync(admin.GetDatabase());
            Assert.All(errors.Take(5), Assert.Null);
            Assert.Equal(CcatErrorId.StoreUnavailable, Assert.IsType<CcatException>(errors[5]).ErrorId); // the taken id alone
            // One transaction per new record; the taken id's may stop at its WATCHed condition before MULTI.
            Assert.InRange(after.GetValueOrDefault("multi") - before.GetValueOrDefault("multi"), 5, 6);
            Assert.Equal(ids.Take(5), (await store.GetManyAsync(ids.Take(5).ToList(), default)).Select(r => r!["name"]));
            Assert.Equal("first", (await store.GetManyAsync([taken], default))[0]!["name"]);
        }
        finally
        {
            TestInfra.RunScript("tests/infra/redis/stop.sh", env);
            Directory.Delete(infra, recursive: true);
        }
    }

    // INFO commandstats: calls per command.
    private static async Task<Dictionary<string, long>> CommandCallsAsync(IDatabase db)
    {
        var text = (await db.ExecuteAsync("INFO", "commandstats")).ToString();
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var m = System.Text.RegularExpressions.Regex.Match(line, @"^cmdstat_([a-z|]+):calls=(\d+)");
            if (m.Success) calls[m.Groups[1].Value] = long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        }

        return calls;
    }

    [Fact]
    public async Task A_wrong_password_is_StoreUnavailable()
    {
        var infra = TestInfra.NewTempDirectory("rpw");
        var env = new Dictionary<string, string> { ["CCAT_INFRA_DIR"] = infra, ["CCAT_REDIS_PORT"] = "0", ["CCAT_REDIS_PASSWORD"] = "right" };
        var socket = TestInfra.RunScript("tests/infra/redis/start.sh", env)["REDIS_SOCKET"];
        try
        {
            await using var wrong = new RedisJobStore(new LocalStoreOptions
            {
                Kind = "redis", JobRoot = Root, RedisHost = socket, RedisPassword = "wrong", RedisConnectTimeoutMs = 1000,
            });
            await using var right = new RedisJobStore(new LocalStoreOptions { Kind = "redis", JobRoot = Root, RedisHost = socket, RedisPassword = "right" });

            var e = await Assert.ThrowsAsync<CcatException>(() => wrong.ListAsync(default));
            Assert.Equal(CcatErrorId.StoreUnavailable, e.ErrorId);
            Assert.Empty(await right.ListAsync(default));
        }
        finally
        {
            TestInfra.RunScript("tests/infra/redis/stop.sh", env);
            Directory.Delete(infra, recursive: true);
        }
    }
}
