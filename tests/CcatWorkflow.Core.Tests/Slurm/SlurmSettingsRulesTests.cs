using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Slurm;

/// <summary>The Slurm settings' rules are checked when the settings load, not by SlurmOptions.</summary>
public sealed class SlurmSettingsRulesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ccat-slurm-rules-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private CcatSettings Load(params (string Name, string Value)[] vars)
    {
        var env = new Dictionary<string, string> { ["HOME"] = _dir, ["XDG_CONFIG_HOME"] = Path.Combine(_dir, "config") };
        foreach (var (n, v) in vars) env[SettingsSchema.EnvPrefix + n] = v;
        return SettingsLoader.Load(env, _dir);
    }

    [Theory]
    [InlineData("SLURM_JOB_DIR", "relative/dir", "absolute path")]
    [InlineData("SLURM_JOB_DIR", "/with space", "may hold only")]
    [InlineData("SLURM_JOB_DIR", "/per%cent", "may hold only")]
    [InlineData("SLURM_PARTITION", "a b", "may hold only")]
    [InlineData("SLURM_ACCOUNT", "x;y", "may hold only")]
    [InlineData("SLURM_QOS", "high\nlow", "may hold only")]
    [InlineData("SLURM_EXTRA_DIRECTIVES", "@json [\"--x\\n#SBATCH --y\"]", "one sbatch option")]
    [InlineData("SLURM_EXTRA_DIRECTIVES", "@json [\"constraint=avx\"]", "one sbatch option")]
    [InlineData("SLURM_GPU_DIRECTIVE", "gpu", "gpus, gres")]
    public void A_value_sbatch_cannot_carry_is_refused_when_the_settings_load(string name, string value, string why)
    {
        var e = Assert.Throws<CcatException>(() => Load((name, value)));
        Assert.Equal(CcatErrorId.InvalidConfiguration, e.ErrorId);
        Assert.StartsWith($"Setting {name} ", e.Message, StringComparison.Ordinal);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_job_dir_is_checked_as_the_folder_under_PIPELINE_BASE_DIR_it_stands_for()
    {
        var e = Assert.Throws<CcatException>(() => Load(("PIPELINE_BASE_DIR", "/data/my pipelines")));
        Assert.Contains("SLURM_JOB_DIR", e.Message, StringComparison.Ordinal);
        Assert.Contains("/data/my pipelines/.ccat-slurm", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_options_read_the_checked_values_and_normalise_them()
    {
        var o = SlurmOptions.FromSettings(Load(("SLURM_JOB_DIR", "/ok/./jobs/"), ("SLURM_PARTITION", "science"),
            ("SLURM_EXTRA_DIRECTIVES", "@json [\"\", \"#SBATCH --constraint=avx2\"]"), ("SLURM_GPU_DIRECTIVE", "GRES")));
        Assert.Equal("/ok/jobs", o.JobDirectory);
        Assert.Equal("science", o.Partition);
        Assert.Equal(["--constraint=avx2"], o.ExtraDirectives);
        Assert.Equal(SlurmGpuDirective.Gres, o.GpuDirective);
        Assert.Equal("/data/pipelines/.ccat-slurm", SlurmOptions.FromSettings(Load()).JobDirectory);
    }
}
