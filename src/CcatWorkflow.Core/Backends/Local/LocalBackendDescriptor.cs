using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>The Local backend's registration: its settings (with their one rule each) and its factory.</summary>
public sealed class LocalBackendDescriptor : BackendDescriptor
{
    private static bool UsesRedis(CcatSettings s) => s.GetString("LOCAL_JOB_STORE").Trim().Equals("redis", StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Local;

    /// <inheritdoc />
    public override IReadOnlyList<SettingDefinition> Settings { get; } =
    [
        new("LOCAL_JOB_STORE", SettingType.String, "file", "Where Local jobs are tracked: file (embedded, the default) or redis.") { OneOf = ["file", "redis"] },
        new("LOCAL_JOB_DIR", SettingType.String, SettingsSchema.DefaultLocalJobDir, "Directory of Local job folders (logs, result) and of the file job store. Must be on a file system every host that reads the jobs shares.")
        {
            Check = (v, _) => LocalStoreOptions.IsAbsoluteJobRoot((string)v) ? null : "must be an absolute path (or start with ~/), the same for every process that reads the jobs",
        },
        new("LOCAL_CANCEL_GRACE_SECONDS", SettingType.Float, 5.0, "Seconds between TERM and KILL when a Local job is cancelled.") { Min = 0, Max = 3600 },
        // ---- seed settings (the Redis job store)
        new("REDIS_HOST", SettingType.String, "localhost", "Redis host (or a unix socket path) for LOCAL_JOB_STORE=redis.")
        {
            CheckedWhen = UsesRedis,
            Check = (v, _) => ((string)v).Trim().Length == 0 ? "must be a host name or a unix socket path when LOCAL_JOB_STORE is redis" : null,
        },
        new("REDIS_PORT", SettingType.Integer, 6379L, "Redis port (not used when REDIS_HOST is a unix socket path).")
        {
            Min = 1, Max = 65535,
            CheckedWhen = s => !s.GetString("REDIS_HOST").Trim().StartsWith('/'),
        },
        new("REDIS_PASSWORD", SettingType.String, "", "Redis password; keep it in the secrets file or the environment.", IsSecret: true),
        new("REDIS_DB", SettingType.Integer, 0L, "Redis database number.") { Min = 0, Max = 1_000_000 },
        new("REDIS_KEY_PREFIX", SettingType.String, "ccat:workflow", "Prefix of every Redis key the module writes.")
        {
            CheckedWhen = UsesRedis,
            Check = (v, _) => ((string)v).Length == 0 ? "must not be empty when LOCAL_JOB_STORE is redis (the module's keys need a prefix)" : null,
        },
        new("LOCAL_RUNNER", SettingType.String, "auto", "Which Local runner starts jobs: auto (the native one where it fits this machine, else the managed one), native, or managed (dotnet + CcatWorkflow.LocalRunner.dll).") { OneOf = ["auto", "native", "managed"] },
    ];

    /// <inheritdoc />
    public override HPCBackend Create(CcatSettings settings) => LocalBackend.Create(settings);
}
