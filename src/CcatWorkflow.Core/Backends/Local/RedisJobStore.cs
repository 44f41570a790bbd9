using System.Net;
using System.Net.Sockets;
using CcatWorkflow.Core.Errors;
using StackExchange.Redis;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// The Redis job store. Key layout (see docs/local-backend.md):
/// <list type="bullet">
/// <item><c>&lt;prefix&gt;:local:job:&lt;id&gt;</c> — a hash with the job's fields (<see cref="LocalJobRecord"/>);</item>
/// <item><c>&lt;prefix&gt;:local:jobs</c> — a sorted set of job ids scored by submission time (Unix ms), for listing.</item>
/// </list>
/// One <see cref="ConnectionMultiplexer"/> per store, made on first use and kept (the backend
/// lives as long as the module). Reading many jobs is one pipelined batch: one round trip.
/// </summary>
internal sealed partial class RedisJobStore : ILocalJobStore
{
    private readonly LocalStoreOptions _options;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private ConnectionMultiplexer? _connection;
    private Task<ConnectionMultiplexer>? _connecting;

    public RedisJobStore(LocalStoreOptions options) => _options = options;

    public string Description => $"redis store {_options.DescribeRedisEndpoint()} db {_options.RedisDb}";

    /// <summary>The key of a job's hash.</summary>
    public string JobKey(string id) => $"{_options.RedisKeyPrefix}:local:job:{id}";

    /// <summary>The key of the listing index.</summary>
    public string IndexKey => $"{_options.RedisKeyPrefix}:local:jobs";

    public Task CreateAsync(string id, IReadOnlyDictionary<string, string> fields, DateTimeOffset submittedAt, CancellationToken cancellationToken) =>
        Guard<bool>(id, $"create the record of job {id}", async db =>
        {
            var tx = db.CreateTransaction();
            tx.AddCondition(Condition.KeyNotExists(JobKey(id)));
            _ = tx.HashSetAsync(JobKey(id), ToEntries(fields));
            _ = tx.SortedSetAddAsync(IndexKey, id, submittedAt.ToUnixTimeMilliseconds());
            if (!await tx.ExecuteAsync().ConfigureAwait(false))
            {
                throw new CcatException(CcatErrorId.StoreUnavailable, $"A record for job {id} exists already in the {Description}.", id);
            }

            return true;
        }, cancellationToken);

    /// <summary>
    /// Creates many records in one round trip: one script that, for each record whose key does
    /// not exist, sets its fields and adds it to the index (atomically, as a whole). One record
    /// goes by the single create's transaction, as before.
    /// </summary>
    public async Task<IReadOnlyList<CcatException?>> CreateManyAsync(IReadOnlyList<LocalRecordDraft> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0) return [];
        if (records.Count == 1)
        {
            try
            {
                await CreateAsync(records[0].Id, records[0].Fields, records[0].SubmittedAt, cancellationToken).ConfigureAwait(false);
                return [null];
            }
            catch (CcatException e)
            {
                return [e];
            }
        }

        var made = await Guard<long[]?>(null, $"create the records of {records.Count} jobs", async db =>
        {
            var keys = new List<RedisKey>(records.Count + 1) { IndexKey };
            var args = new List<RedisValue>();
            foreach (var r in records)
            {
                keys.Add(JobKey(r.Id));
                args.Add(r.Id);
                args.Add(r.SubmittedAt.ToUnixTimeMilliseconds());
                args.Add(r.Fields.Count);
                foreach (var (name, value) in r.Fields)
                {
                    args.Add(name);
                    args.Add(value);
                }
            }

            try
            {
                return (long[])(await db.ScriptEvaluateAsync(CreateManyScript, keys.ToArray(), args.ToArray()).ConfigureAwait(false))!;
            }
            catch (RedisServerException e) when (ScriptingRefused(e))
            {
                return null; // a server whose ACL (or rename-command) takes scripting away: one transaction per record below
            }
        }, cancellationToken).ConfigureAwait(false);
        if (made is null)
        {
            var errors = new List<CcatException?>(records.Count);
            foreach (var r in records)
            {
                try
                {
                    await CreateAsync(r.Id, r.Fields, r.SubmittedAt, cancellationToken).ConfigureAwait(false);
                    errors.Add(null);
                }
                catch (CcatException e)
                {
                    errors.Add(e);
                }
            }

            return errors;
        }

        return records.Select((r, i) => made[i] == 1
            ? null
            : new CcatException(CcatErrorId.StoreUnavailable, $"A record for job {r.Id} exists already in the {Description}.", r.Id)).ToList();
    }

    /// <summary>True when the server refuses scripts themselves (ACL without @scripting, EVAL renamed away), not this batch.</summary>
    internal static bool ScriptingRefused(RedisServerException e) =>
        e.Message.StartsWith("NOPERM", StringComparison.Ordinal) || e.Message.Contains("unknown command", StringComparison.OrdinalIgnoreCase);

    // KEYS[1]: the index; KEYS[2..]: the job keys. ARGV per record: id, score, field count, then name/value pairs.
    private const string CreateManyScript = """
        local made = {}
        local a = 1
        for i = 2, #KEYS do
          local id, score, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
          a = a + 3
          if redis.call('EXISTS', KEYS[i]) == 1 then
            made[#made + 1] = 0
          else
            for j = 0, n - 1 do redis.call('HSET', KEYS[i], ARGV[a + 2 * j], ARGV[a + 2 * j + 1]) end
            redis.call('ZADD', KEYS[1], score, id)
            made[#made + 1] = 1
          end
          a = a + 2 * n
        end
        return made
        """;

    public Task<IReadOnlyList<IReadOnlyDictionary<string, string>?>> GetManyAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        Guard<IReadOnlyList<IReadOnlyDictionary<string, string>?>>(null, ids.Count == 1 ? $"read the record of job {ids[0]}" : $"read the records of {ids.Count} jobs", async db =>
        {
            if (ids.Count == 0) return [];
            var batch = db.CreateBatch();
            var tasks = ids.Select(id => batch.HashGetAllAsync(JobKey(id))).ToArray();
            batch.Execute();
            await Task.WhenAll(tasks).ConfigureAwait(false);
            return tasks.Select(t => t.Result.Length == 0
                ? null
                : (IReadOnlyDictionary<string, string>)t.Result.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString())).ToList();
        }, cancellationToken);

    public Task<bool> UpdateAsync(string id, IReadOnlyDictionary<string, string> fields, CancellationToken cancellationToken) =>
        Guard<bool>(id, $"update the record of job {id}", async db =>
        {
            // Conditional, so a late writer (a runner finishing after the record was deleted)
            // cannot resurrect a half record.
            var tx = db.CreateTransaction();
            tx.AddCondition(Condition.KeyExists(JobKey(id)));
            _ = tx.HashSetAsync(JobKey(id), ToEntries(fields));
            return await tx.ExecuteAsync().ConfigureAwait(false);
        }, cancellationToken);

    public Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken) =>
        Guard<IReadOnlyList<string>>(null, "list the jobs", async db =>
        {
            var ids = await db.SortedSetRangeByRankAsync(IndexKey, 0, -1, Order.Descending).ConfigureAwait(false);
            return ids.Select(v => v.ToString()).ToList();
        }, cancellationToken);

    public Task DeleteAsync(string id, CancellationToken cancellationToken) =>
        Guard<bool>(id, $"delete the record of job {id}", async db =>
        {
            var tx = db.CreateTransaction();
            _ = tx.KeyDeleteAsync(JobKey(id));
            _ = tx.SortedSetRemoveAsync(IndexKey, id);
            return await tx.ExecuteAsync().ConfigureAwait(false);
        }, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_connection is null && _connecting is { IsCompletedSuccessfully: true } abandoned) _connection = abandoned.Result;
        if (_connection is { } c)
        {
            _connection = null;
            try
            {
                await c.CloseAsync(allowCommandsToComplete: true).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
            {
                // closing a broken connection: nothing left to save
            }

            await c.DisposeAsync().ConfigureAwait(false);
        }

        _connectGate.Dispose();
    }

    /// <summary>The connection options: never abort on a failed first connect, fail fast while disconnected.</summary>
    internal ConfigurationOptions BuildConfiguration()
    {
        var o = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ConnectTimeout = _options.RedisConnectTimeoutMs,
            SyncTimeout = _options.RedisCommandTimeoutMs,
            AsyncTimeout = _options.RedisCommandTimeoutMs,
            ConnectRetry = 1,
            DefaultDatabase = _options.RedisDb,
            ClientName = "ccat-workflow",
            BacklogPolicy = BacklogPolicy.FailFast,
        };
        if (_options.RedisPassword is { Length: > 0 } pw)
        {
            o.Password = pw;
        }

        EndPoint ep = _options.RedisHost.StartsWith('/')
            ? new UnixDomainSocketEndPoint(_options.RedisHost)
            : new DnsEndPoint(_options.RedisHost, _options.RedisPort);
        o.EndPoints.Add(ep);
        return o;
    }

    private async Task<IDatabase> DatabaseAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } existing) return existing.GetDatabase(_options.RedisDb);
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Bounded by the caller's time: a connect the caller gave up on goes on in the
            // background and is used by the next call.
            _connecting ??= ConnectionMultiplexer.ConnectAsync(BuildConfiguration());
            try
            {
                _connection ??= await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (_connecting.IsFaulted)
            {
                _connecting = null;
                throw;
            }

            return _connection.GetDatabase(_options.RedisDb);
        }
        finally
        {
            _connectGate.Release();
        }
    }

    private async Task<T> Guard<T>(string? id, string operation, Func<IDatabase, Task<T>> action, CancellationToken cancellationToken)
    {
        try
        {
            var db = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
            return await action(db).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or SocketException or RedisCommandException)
        {
            throw new CcatException(CcatErrorId.StoreUnavailable, $"The {Description} could not {operation}: {Reason(e)}.", id, e);
        }
    }

    /// <summary>
    /// Why a Redis call failed, in a few words: what the client knows (no connection, no answer
    /// in time, the server's own error line) without its diagnostics dump (counters, queue and
    /// thread-pool state), and never the password.
    /// </summary>
    internal string Reason(Exception e)
    {
        var reason = e switch
        {
            RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure } => "the server refused the credentials (REDIS_PASSWORD)",
            RedisConnectionException c => $"no connection ({c.FailureType})",
            RedisTimeoutException => $"no answer within {_options.RedisCommandTimeoutMs} ms",
            RedisServerException or RedisCommandException => "the server said: " + FirstLine(e.Message),
            SocketException so => $"socket error {so.SocketErrorCode}",
            TimeoutException => "no answer in time",
            _ => FirstLine(e.Message),
        };
        return _options.RedisPassword is { Length: > 0 } pw ? reason.Replace(pw, "***", StringComparison.Ordinal) : reason;
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0].Trim();
        return line.Length > 200 ? line[..200] + "…" : line;
    }

    private static HashEntry[] ToEntries(IReadOnlyDictionary<string, string> fields) =>
        fields.Select(kv => new HashEntry(kv.Key, kv.Value)).ToArray();
}
