using System.Diagnostics;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Contract;

/// <summary>Settings files are read strictly and every setting has one rule, checked once at load.</summary>
public sealed class SettingsStrictnessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ccat-strict-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Dictionary<string, string> Env(params (string Key, string Value)[] vars)
    {
        var d = new Dictionary<string, string> { ["HOME"] = _dir, ["XDG_CONFIG_HOME"] = Path.Combine(_dir, "config") };
        foreach (var (k, v) in vars) d[k] = v;
        return d;
    }

    private CcatException LoadFails(params (string Key, string Value)[] vars) =>
        Assert.Throws<CcatException>(() => SettingsLoader.Load(Env(vars), _dir));

    private string Write(string toml)
    {
        var path = Path.Combine(_dir, "settings.toml");
        File.WriteAllText(path, toml);
        return path;
    }

    [Fact]
    public void A_key_defined_twice_is_an_error_naming_the_file_and_line()
    {
        var path = Write("[default]\nREDIS_PORT = 1\n\nREDIS_PORT = 2\n");
        var e = LoadFails(("SETTINGS_FILE_FOR_DYNACONF", path));
        Assert.Equal(CcatErrorId.InvalidConfiguration, e.ErrorId);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("line 4", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_table_defined_twice_is_an_error_naming_the_file_and_line()
    {
        var path = Write("[default]\nREDIS_PORT = 1\n[production]\nREDIS_DB = 1\n[default]\nREDIS_DB = 2\n");
        var e = LoadFails(("SETTINGS_FILE_FOR_DYNACONF", path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("line 5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dev_zero_as_settings_file_is_refused_at_once_without_reading_it()
    {
        var clock = Stopwatch.StartNew();
        var e = LoadFails(("SETTINGS_FILE_FOR_DYNACONF", "/dev/zero"));
        Assert.Contains("device", e.Message, StringComparison.Ordinal);
        // Not a timing margin: reading /dev/zero to the end would never finish at all.
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task A_fifo_as_settings_file_is_refused_instead_of_waiting_for_a_writer()
    {
        var fifo = Path.Combine(_dir, "settings.fifo");
        using (var p = Process.Start("mkfifo", [fifo])) await p.WaitForExitAsync();
        var load = Task.Run(() => SettingsLoader.Load(Env(("SETTINGS_FILE_FOR_DYNACONF", fifo)), _dir));
        // Without the check the load blocks for ever in open(); a minute is no timing margin.
        var first = await Task.WhenAny(load, Task.Delay(TimeSpan.FromMinutes(1)));
        Assert.Same(load, first);
        var e = await Assert.ThrowsAsync<CcatException>(() => load);
        Assert.Contains("FIFO", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_as_secrets_file_is_refused()
    {
        var settings = Write("[default]\n");
        var e = LoadFails(("SETTINGS_FILE_FOR_DYNACONF", settings), ("SECRETS_FOR_DYNACONF", _dir));
        Assert.Contains(_dir, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_settings_file_over_the_size_cap_is_refused()
    {
        var path = Path.Combine(_dir, "big.toml");
        using (var f = File.Create(path)) f.SetLength(SettingsFileReader.MaxBytes + 1);
        var e = LoadFails(("SETTINGS_FILE_FOR_DYNACONF", path));
        Assert.Contains("at most", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("slurm,local")]
    [InlineData("Nope")]
    [InlineData("")]
    public void An_unknown_or_multiple_backend_is_an_error_listing_the_registered_ones(string value)
    {
        var e = LoadFails(("CCAT_WORKFLOW_MANAGER_HPC_BACKEND", value == "" ? "''" : value));
        Assert.Equal(CcatErrorId.InvalidConfiguration, e.ErrorId);
        Assert.Contains("HPC_BACKEND", e.Message, StringComparison.Ordinal);
        Assert.Contains(BackendRegistry.ValidNames, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("k8s", "Kubernetes")]
    [InlineData(" SLURM ", "Slurm")]
    [InlineData("Local", "Local")]
    public void Backend_names_and_aliases_come_from_the_descriptors(string value, string expected)
    {
        var s = SettingsLoader.Load(Env(("CCAT_WORKFLOW_MANAGER_HPC_BACKEND", $"'{value}'")), _dir);
        Assert.Equal(expected, s.Backend.Name);
    }

    [Fact]
    public void REDIS_PORT_is_not_required_when_REDIS_HOST_is_a_unix_socket()
    {
        var s = SettingsLoader.Load(Env(
            ("CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE", "redis"),
            ("CCAT_WORKFLOW_MANAGER_REDIS_HOST", "/run/redis/redis.sock"),
            ("CCAT_WORKFLOW_MANAGER_REDIS_PORT", "0")), _dir);
        Assert.Equal(0L, s.GetInteger("REDIS_PORT"));
        var e = LoadFails(("CCAT_WORKFLOW_MANAGER_REDIS_PORT", "0"));
        Assert.Contains("REDIS_PORT", e.Message, StringComparison.Ordinal);
        Assert.Contains("between 1 and 65535", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1000000", true)]
    [InlineData("1000001", false)]
    [InlineData("-1", false)]
    public void REDIS_DB_has_one_range_checked_at_load_whatever_the_store(string value, bool ok)
    {
        (string, string) v = ("CCAT_WORKFLOW_MANAGER_REDIS_DB", value);
        if (ok)
        {
            Assert.Equal(long.Parse(value, System.Globalization.CultureInfo.InvariantCulture), SettingsLoader.Load(Env(v), _dir).GetInteger("REDIS_DB"));
            Assert.Equal(1_000_000, Backends.Local.LocalStoreOptions.FromSettings(SettingsLoader.Load(Env(v, ("CCAT_WORKFLOW_MANAGER_LOCAL_JOB_STORE", "redis")), _dir)).RedisDb);
        }
        else
        {
            Assert.Contains("between 0 and 1000000", LoadFails(v).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_setting_is_defined_once_and_every_backend_owns_its_own()
    {
        var names = SettingsSchema.All.Select(d => d.Name).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        foreach (var d in BackendRegistry.Descriptors)
        {
            Assert.All(d.SettingNames, n => Assert.NotNull(SettingsSchema.Find(n)));
        }
    }
}
