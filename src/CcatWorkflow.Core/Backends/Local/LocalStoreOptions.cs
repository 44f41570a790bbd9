using System.Text.Json;
using System.Text.Json.Serialization;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Which store, and how to reach it. The backend builds it from settings and hands it to the
/// runner it starts (as JSON in an environment variable the runner removes before it starts the
/// job, so the Redis password never lands on disk).
/// </summary>
internal sealed record LocalStoreOptions
{
    /// <summary>The environment variable that carries these options to the runner.</summary>
    public const string RunnerVariable = "CCAT_LOCAL_RUNNER_STORE";

    /// <summary><c>file</c> or <c>redis</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>LOCAL_JOB_DIR, absolute.</summary>
    public required string JobRoot { get; init; }

    public string RedisHost { get; init; } = "localhost";

    public int RedisPort { get; init; } = 6379;

    public string? RedisPassword { get; init; }

    public int RedisDb { get; init; }

    public string RedisKeyPrefix { get; init; } = "ccat:workflow";

    public int RedisConnectTimeoutMs { get; init; } = 3000;

    public int RedisCommandTimeoutMs { get; init; } = 5000;

    /// <summary>How long a file-store update waits for another writer's lock.</summary>
    public int FileLockTimeoutMs { get; init; } = 10_000;

    [JsonIgnore]
    public bool IsRedis => Kind == "redis";

    /// <summary>Builds the options from settings, validating what the Local backend needs.</summary>
    public static LocalStoreOptions FromSettings(CcatSettings settings)
    {
        // Every value was checked when the settings loaded (LocalBackendDescriptor's rules).
        var kind = settings.GetString("LOCAL_JOB_STORE").Trim().ToLowerInvariant();
        var root = ExpandJobRoot(settings.GetString("LOCAL_JOB_DIR"), settings["LOCAL_JOB_DIR"]);
        var host = settings.GetString("REDIS_HOST").Trim();
        var port = settings.GetInteger("REDIS_PORT");
        var db = settings.GetInteger("REDIS_DB");
        var prefix = settings.GetString("REDIS_KEY_PREFIX");

        return new LocalStoreOptions
        {
            Kind = kind,
            JobRoot = root,
            RedisHost = host,
            RedisPort = (int)Math.Clamp(port, 0, 65535),
            RedisPassword = settings.GetString("REDIS_PASSWORD"),
            RedisDb = (int)Math.Clamp(db, 0, int.MaxValue),
            RedisKeyPrefix = prefix,
        };
    }

    /// <summary>True when LOCAL_JOB_DIR, with a leading <c>~</c> expanded, is absolute (its rule).</summary>
    internal static bool IsAbsoluteJobRoot(string value)
    {
        var v = value.Trim();
        return v == "~" || v.StartsWith("~/", StringComparison.Ordinal) || Path.IsPathRooted(v);
    }

    /// <summary>LOCAL_JOB_DIR with a leading <c>~</c> expanded; it must then be absolute.</summary>
    internal static string ExpandJobRoot(string value, SettingValue? origin = null)
    {
        var v = value.Trim();
        if (v == "~" || v.StartsWith("~/", StringComparison.Ordinal))
        {
            v = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), v.Length > 2 ? v[2..] : "");
        }

        if (!Path.IsPathRooted(v))
        {
            throw new CcatException(CcatErrorId.InvalidConfiguration,
                $"LOCAL_JOB_DIR is '{value}'{(origin is null ? "" : $" (from {CcatSettings.Describe(origin)})")}; it must be an absolute path, the same for every process that reads the jobs.");
        }

        return Path.GetFullPath(v);
    }

    /// <summary>The store these options name.</summary>
    public ILocalJobStore CreateStore() => IsRedis ? new RedisJobStore(this) : new FileJobStore(JobRoot, TimeSpan.FromMilliseconds(FileLockTimeoutMs));

    public string DescribeRedisEndpoint() => RedisHost.StartsWith('/') ? $"unix:{RedisHost}" : $"{RedisHost}:{RedisPort}";

    public string ToJson() => JsonSerializer.Serialize(this, LocalJson.Context.LocalStoreOptions);

    public static LocalStoreOptions FromJson(string json) =>
        JsonSerializer.Deserialize(json, LocalJson.Context.LocalStoreOptions) ?? throw new JsonException("empty store options");
}
