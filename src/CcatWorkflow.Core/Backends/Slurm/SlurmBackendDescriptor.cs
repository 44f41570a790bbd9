using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>The Slurm backend's registration: its settings (with their one rule each) and its factory.</summary>
public sealed class SlurmBackendDescriptor : BackendDescriptor
{
    /// <inheritdoc />
    public override HPCBackendKind Kind => HPCBackendKind.Slurm;

    /// <inheritdoc />
    public override IReadOnlyList<SettingDefinition> Settings { get; } =
    [
        new("SLURM_PARTITION", SettingType.String, "", "Slurm partition (--partition); empty = the cluster's default."),
        new("SLURM_ACCOUNT", SettingType.String, "", "Slurm account (--account); empty = none."),
        new("SLURM_QOS", SettingType.String, "", "Slurm QOS (--qos); empty = none."),
        new("SLURM_EXTRA_DIRECTIVES", SettingType.StringList, Array.Empty<string>(), "Extra #SBATCH directives, e.g. [\"--constraint=avx2\"]."),
        new("SLURM_JOB_DIR", SettingType.String, "", "Directory for sbatch scripts and job logs, on a file system the compute nodes share; empty = <PIPELINE_BASE_DIR>/.ccat-slurm."),
        new("SLURM_GPU_DIRECTIVE", SettingType.String, "gpus", "How gpu is requested: gpus (--gpus=N) or gres (--gres=gpu:N).") { OneOf = ["gpus", "gres"] },
    ];

    /// <inheritdoc />
    public override IReadOnlyList<string> SharedSettings => ["PIPELINE_BASE_DIR"];

    /// <inheritdoc />
    public override HPCBackend Create(CcatSettings settings) => SlurmBackend.Create(settings);
}
