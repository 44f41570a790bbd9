namespace CcatWorkflow.Core.Configuration;

/// <summary>
/// Every setting the module knows: the common ones here, each backend's in its descriptor. The
/// seed's settings keep their names and meanings; new ones follow the same style. A key not
/// listed is reported (a warning and an unknown entry) and ignored: the
/// file may be shared with the Python service.
/// </summary>
public static class SettingsSchema
{
    /// <summary>The environment variable prefix (Dynaconf's envvar_prefix).</summary>
    public const string EnvPrefix = "CCAT_WORKFLOW_MANAGER_";

    private static readonly string DefaultJobDir = Path.Combine(
        Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state"),
        "ccat-workflow", "jobs");

    /// <summary>
    /// The settings no single backend owns, in the order Get-CcatConfiguration shows them;
    /// each backend's own settings live in its <see cref="BackendDescriptor"/>.
    /// </summary>
    public static IReadOnlyList<SettingDefinition> Common { get; } =
    [
        // ---- seed settings
        new("HPC_BACKEND", SettingType.String, "local", "Backend: one of the registered backends (slurm, kubernetes or k8s, local; any case). The module defaults to local (runs anywhere); the original service defaults to kubernetes.")
        {
            Check = (v, _) => BackendRegistry.TryParse((string)v) is null ? $"must be one of: {BackendRegistry.ValidNames} (any case)" : null,
        },
        new("PIPELINE_BASE_DIR", SettingType.String, "/data/pipelines", "Root of the per-pipeline workspace/output/logs trees."),
        new("SIF_CACHE_DIR", SettingType.String, "/data/sif-cache", "Directory of cached Apptainer SIF images."),

        // ---- shared
        new("APPTAINER_PATH", SettingType.String, "apptainer", "The apptainer program used when the module builds the apptainer exec line."),
        new("POLL_INTERVAL_SECONDS", SettingType.Float, 2.0, "How often Wait-CcatJob asks the backend (seconds).") { Min = 0.05, Max = 3600 },
        new("JOB_RETENTION_DAYS", SettingType.Integer, 0L, "Days a finished job's record is kept before Get-CcatJob on Kubernetes removes records whose Job is gone; 0 = off (a listing never deletes). The cleanup routine is Get-CcatJob -OlderThan 30d | Remove-CcatJob.") { Min = 0, Max = 36500 },
        new("RETRY_MAX_MEMORY_GB", SettingType.Float, 256.0, "The most memory (GiB) a retry policy's -MemoryGrowth may grow a job's memory_gb to (recorded with each job at submission). docs/retries.md.") { Min = 0.001, Max = 65536 },
        new("RETRY_MAX_TIME_HOURS", SettingType.Float, 168.0, "The longest time limit (hours) a retry policy's -TimeGrowth may grow a job's time_hours to (recorded with each job at submission). docs/retries.md.") { Min = 0.0003, Max = 8784 },
    ];

    /// <summary>The default of LOCAL_JOB_DIR (under XDG_STATE_HOME, else ~/.local/state).</summary>
    internal static string DefaultLocalJobDir => DefaultJobDir;

    private static volatile IReadOnlyList<SettingDefinition>? _all;
    private static volatile Dictionary<string, SettingDefinition>? _byName;

    static SettingsSchema() => BackendRegistry.Changed += () =>
    {
        _all = null;
        _byName = null;
    };

    /// <summary>
    /// All settings, in the order Get-CcatConfiguration shows them: the common ones, then each
    /// registered backend's. A name defined twice is a programming error, caught here.
    /// </summary>
    public static IReadOnlyList<SettingDefinition> All => _all ??= Build();

    private static List<SettingDefinition> Build()
    {
        var list = Common.Concat(BackendRegistry.Descriptors.SelectMany(d => d.Settings)).ToList();
        var twice = list.GroupBy(d => d.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
        {
            throw new InvalidOperationException($"Setting {twice.Key} is defined more than once.");
        }

        return list;
    }

    /// <summary>Looks up a setting by name (case-insensitive, as Dynaconf does).</summary>
    public static SettingDefinition? Find(string name) =>
        (_byName ??= All.ToDictionary(d => d.Name, StringComparer.OrdinalIgnoreCase)).GetValueOrDefault(name);

    /// <summary>The README's settings table, made from the definitions (docs/CONTRIBUTING-backends.md).</summary>
    public static string MarkdownTable()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("| setting | type | default | rule | meaning |\n|---|---|---|---|---|\n");
        foreach (var d in All)
        {
            var dflt = d.Name == "LOCAL_JOB_DIR" ? "~/.local/state/ccat-workflow/jobs" : CcatSettings.Format(d.Default, mask: false);
            sb.Append("| `").Append(d.Name).Append("` | ").Append(d.Type.ToString().ToLowerInvariant()).Append(" | ")
              .Append(dflt.Length == 0 ? "(empty)" : "`" + dflt + "`").Append(" | ")
              .Append(d.RuleText.Replace("|", "\\|", StringComparison.Ordinal)).Append(" | ")
              .Append(d.Description.Replace("|", "\\|", StringComparison.Ordinal)).Append(d.IsSecret ? " Secret: never shown." : "").Append(" |\n");
        }

        return sb.ToString();
    }
}
