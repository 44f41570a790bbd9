using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Contract;

public sealed class SettingsLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ccat-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Dictionary<string, string> Env(params (string Key, string Value)[] vars)
    {
        var d = new Dictionary<string, string> { ["HOME"] = _dir, ["XDG_CONFIG_HOME"] = Path.Combine(_dir, "config") };
        foreach (var (k, v) in vars) d[k] = v;
        return d;
    }

    private string Write(string name, string toml)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, toml);
        return path;
    }

    [Fact]
    public void With_nothing_at_all_the_module_runs_locally_on_the_file_store()
    {
        var s = SettingsLoader.Load(Env(), _dir);
        Assert.Equal(HPCBackendKind.Local, s.Backend);
        Assert.Equal("file", s.GetString("LOCAL_JOB_STORE"));
        Assert.Equal(6379L, s.GetInteger("REDIS_PORT"));
        Assert.Null(s.SettingsFile);
        Assert.Equal("development", s.Environment);
        Assert.All(s.Values, v => Assert.Equal(SettingSource.Default, v.Source));
    }

    [Theory]
    [InlineData("6379", 6379L)]
    [InlineData("true", true)]
    [InlineData("1.5", 1.5)]
    [InlineData("'quoted'", "quoted")]
    [InlineData("plain words", "plain words")]
    [InlineData("[\"a\", \"b\"]", null)]
    public void Variables_are_read_as_TOML_literals_like_Dynaconf(string raw, object? expected)
    {
        var value = SettingsLoader.ParseLiteral(raw);
        if (expected is null)
        {
            Assert.Equal(["a", "b"], ((IEnumerable<object>)value).Cast<string>());
        }
        else
        {
            Assert.Equal(expected, value);
        }
    }

    [Fact]
    public void Precedence_is_variable_then_secrets_then_environment_section_then_default()
    {
        var file = Write("settings.toml", """
            [default]
            REDIS_HOST = "from-default"
            REDIS_PORT = 1111
            SLURM_PARTITION = "default-part"
            [production]
            REDIS_PORT = 2222
            SLURM_PARTITION = "science"
            """);
        Write(".secrets.toml", "[default]\nREDIS_PASSWORD = \"s3cret\"\n");
        var s = SettingsLoader.Load(Env(("SETTINGS_FILE_FOR_DYNACONF", file), ("ENV_FOR_DYNACONF", "PRODUCTION"),
            ("CCAT_WORKFLOW_MANAGER_SLURM_PARTITION", "override")), _dir);
        Assert.Equal("production", s.Environment);
        Assert.Equal(("from-default", SettingSource.FileDefault), (s.GetString("REDIS_HOST"), s["REDIS_HOST"].Source));
        Assert.Equal((2222L, SettingSource.FileEnvironment), (s.GetInteger("REDIS_PORT"), s["REDIS_PORT"].Source));
        Assert.Equal(("override", SettingSource.EnvironmentVariable), (s.GetString("SLURM_PARTITION"), s["SLURM_PARTITION"].Source));
        Assert.Equal(("s3cret", SettingSource.SecretsFile), (s.GetString("REDIS_PASSWORD"), s["REDIS_PASSWORD"].Source));
        Assert.Equal("********", CcatSettings.Format(s["REDIS_PASSWORD"].Value, mask: true));
    }

    [Fact]
    public void The_global_section_overrides_the_environment_section()
    {
        var file = Write("s.toml", "[production]\nSLURM_QOS = \"normal\"\n[global]\nSLURM_QOS = \"high\"\n");
        var s = SettingsLoader.Load(Env(("SETTINGS_FILE_FOR_DYNACONF", file), ("ENV_FOR_DYNACONF", "production")), _dir);
        Assert.Equal("high", s.GetString("SLURM_QOS"));
    }

    [Fact]
    public void The_search_order_prefers_the_working_directory_then_the_user_config()
    {
        var config = Path.Combine(_dir, "config", "ccat-workflow");
        Directory.CreateDirectory(config);
        File.WriteAllText(Path.Combine(config, "settings.toml"), "[default]\nSLURM_QOS = \"user\"\n");
        Assert.Equal("user", SettingsLoader.Load(Env(), _dir).GetString("SLURM_QOS"));
        var cwd = Directory.CreateDirectory(Path.Combine(_dir, "cwd")).FullName;
        File.WriteAllText(Path.Combine(cwd, "settings.toml"), "[default]\nSLURM_QOS = \"cwd\"\n");
        Assert.Equal("cwd", SettingsLoader.Load(Env(), cwd).GetString("SLURM_QOS"));
    }

    [Fact]
    public void Lists_and_tables_have_their_types()
    {
        var file = Write("t.toml", "[default]\nSLURM_EXTRA_DIRECTIVES = [\"--constraint=avx2\"]\nK8S_NODE_SELECTOR = { disk = \"ssd\" }\nK8S_PRIVILEGED = true\n");
        var s = SettingsLoader.Load(Env(("SETTINGS_FILE_FOR_DYNACONF", file)), _dir);
        Assert.Equal(["--constraint=avx2"], s.GetStringList("SLURM_EXTRA_DIRECTIVES"));
        Assert.Equal("ssd", s.GetStringMap("K8S_NODE_SELECTOR")["disk"]);
        Assert.True(s.GetBoolean("K8S_PRIVILEGED"));
    }

    [Theory]
    [InlineData("[default]\nREDIS_PORT = \"abc\"\n", null, "REDIS_PORT")]
    [InlineData("[default]\nREDIS_PORT = 1.5\n", null, "whole number")]
    [InlineData("[default]\nK8S_PRIVILEGED = \"yes\"\n", null, "true or false")]
    [InlineData("[default]\nSLURM_EXTRA_DIRECTIVES = [1, 2]\n", null, "list of strings")]
    [InlineData("[default\n", null, "not valid TOML")]
    [InlineData("[default]\nHPC_BACKEND = \"pbs\"\n", null, "HPC_BACKEND is 'pbs'")]
    [InlineData("[staging]\nHPC_BACKEND = \"local\"\n", "prod", "no [prod] section")]
    public void Bad_files_name_the_file_and_the_key(string toml, string? env, string expected)
    {
        var file = Write("bad.toml", toml);
        var vars = Env(("SETTINGS_FILE_FOR_DYNACONF", file));
        if (env is not null) vars["ENV_FOR_DYNACONF"] = env;
        var ex = Assert.Throws<CcatException>(() => SettingsLoader.Load(vars, _dir));
        Assert.Equal(CcatErrorId.InvalidConfiguration, ex.ErrorId);
        Assert.Contains(expected, ex.Message);
        Assert.Contains("bad.toml", ex.Message);
    }

    [Fact]
    public void A_named_settings_file_that_does_not_exist_is_an_error()
    {
        var ex = Assert.Throws<CcatException>(() => SettingsLoader.Load(Env(("SETTINGS_FILE_FOR_DYNACONF", "/nonexistent/s.toml")), _dir));
        Assert.Contains("/nonexistent/s.toml", ex.Message);
    }

    [Fact]
    public void Unknown_keys_are_reported_not_fatal_and_unknown_variables_are_ignored()
    {
        var file = Write("u.toml", "[default]\nPROCESSING_LOCATION_ID = 1\n");
        var s = SettingsLoader.Load(Env(("SETTINGS_FILE_FOR_DYNACONF", file), ("CCAT_WORKFLOW_MANAGER_DB_URL", "x")), _dir);
        Assert.Single(s.UnknownKeys, k => k.Contains("PROCESSING_LOCATION_ID"));
    }

    [Fact]
    public void The_fingerprint_changes_with_the_settings_a_backend_uses_only()
    {
        var a = SettingsLoader.Load(Env(("CCAT_WORKFLOW_MANAGER_REDIS_PORT", "1")), _dir);
        var b = SettingsLoader.Load(Env(("CCAT_WORKFLOW_MANAGER_REDIS_PORT", "2")), _dir);
        Assert.NotEqual(a.Fingerprint(["REDIS_PORT"]), b.Fingerprint(["REDIS_PORT"]));
        Assert.Equal(a.Fingerprint(["SLURM_QOS"]), b.Fingerprint(["SLURM_QOS"]));
    }
}
