using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Local;

public sealed class LocalSettingsTests
{
    private static CcatSettings Settings(params (string Name, string Value)[] values)
    {
        var env = values.ToDictionary(v => SettingsSchema.EnvPrefix + v.Name, v => v.Value);
        env["SETTINGS_FILE_FOR_DYNACONF"] = ""; // no file: only these variables and the defaults
        var cwd = TestInfra.NewTempDirectory("cfg");
        try
        {
            return SettingsLoader.Load(env, cwd);
        }
        finally
        {
            Directory.Delete(cwd);
        }
    }

    [Fact]
    public void The_defaults_give_the_embedded_file_store_and_connect_to_nothing()
    {
        var options = LocalBackendOptions.FromSettings(Settings(("LOCAL_JOB_DIR", "/var/tmp/ccat-jobs")));

        Assert.False(options.Store.IsRedis);
        Assert.Equal("/var/tmp/ccat-jobs", options.JobRoot);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CancelGrace);
        Assert.IsType<FileJobStore>(options.Store.CreateStore());
    }

    [Fact]
    public void The_redis_settings_reach_the_store_and_a_socket_path_is_a_host()
    {
        var options = LocalBackendOptions.FromSettings(Settings(
            ("LOCAL_JOB_STORE", "Redis"), ("REDIS_HOST", "/run/redis.sock"), ("REDIS_DB", "3"),
            ("REDIS_KEY_PREFIX", "site"), ("REDIS_PASSWORD", "pw"), ("LOCAL_CANCEL_GRACE_SECONDS", "0.5")));

        Assert.True(options.Store.IsRedis);
        Assert.Equal(3, options.Store.RedisDb);
        Assert.Equal("unix:/run/redis.sock", options.Store.DescribeRedisEndpoint());
        Assert.Equal(TimeSpan.FromSeconds(0.5), options.CancelGrace);
        var store = new RedisJobStore(options.Store);
        Assert.Equal("site:local:job:x", store.JobKey("x"));
        Assert.Equal("site:local:jobs", store.IndexKey);
        var config = store.BuildConfiguration();
        Assert.False(config.AbortOnConnectFail);
        Assert.Equal("pw", config.Password);
        Assert.IsType<System.Net.Sockets.UnixDomainSocketEndPoint>(config.EndPoints.Single());
    }

    [Fact]
    public void A_leading_tilde_in_LOCAL_JOB_DIR_is_the_home_directory()
    {
        var options = LocalBackendOptions.FromSettings(Settings(("LOCAL_JOB_DIR", "~/jobs")));

        Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "jobs"), options.JobRoot);
    }

    [Theory]
    [InlineData("LOCAL_JOB_STORE", "sqlite")]
    [InlineData("LOCAL_JOB_DIR", "relative/jobs")]
    [InlineData("LOCAL_CANCEL_GRACE_SECONDS", "-1")]
    public void Impossible_local_settings_are_InvalidConfiguration(string name, string value)
    {
        var e = Assert.Throws<CcatException>(() => LocalBackend.Create(Settings((name, value))));

        Assert.Equal(CcatErrorId.InvalidConfiguration, e.ErrorId);
        Assert.Contains(name, e.Message);
    }

    [Theory]
    [InlineData("REDIS_HOST", "")]
    [InlineData("REDIS_KEY_PREFIX", "")]
    public void Impossible_redis_settings_are_InvalidConfiguration_when_the_store_is_redis(string name, string value)
    {
        Assert.Equal(CcatErrorId.InvalidConfiguration,
            Assert.Throws<CcatException>(() => LocalBackend.Create(Settings(("LOCAL_JOB_STORE", "redis"), (name, value)))).ErrorId);
        LocalBackend.Create(Settings((name, value))); // not used by the file store: no error
    }

    [Fact]
    public async Task The_registry_keeps_one_backend_per_local_settings_and_rebuilds_when_they_change()
    {
        var a = BackendRegistry.Get(HPCBackendKind.Local, Settings(("LOCAL_JOB_DIR", "/var/tmp/reg-a")));
        var again = BackendRegistry.Get(HPCBackendKind.Local, Settings(("LOCAL_JOB_DIR", "/var/tmp/reg-a"), ("SLURM_PARTITION", "other")));
        var b = BackendRegistry.Get(HPCBackendKind.Local, Settings(("LOCAL_JOB_DIR", "/var/tmp/reg-b")));

        Assert.Same(a, again);
        Assert.NotSame(a, b);
        Assert.Contains("REDIS_PASSWORD", new LocalBackendDescriptor().SettingNames);
        Assert.Empty(await a.ListJobsAsync(default)); // a job root that does not exist yet is an empty store
    }
}
