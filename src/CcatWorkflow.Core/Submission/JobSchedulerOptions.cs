namespace CcatWorkflow.Core.Submission;

/// <summary>
/// Per-job scheduler options (Submit-CcatJob -Partition, -Account, -Qos, -SchedulerOption,
/// -Namespace): each overrides its setting for this one job. A backend that cannot use an
/// option refuses the submission (<see cref="HPCBackend.EnsureSupported"/>), never ignores it;
/// each backend checks the values by the rule its settings follow.
/// </summary>
public sealed record JobSchedulerOptions
{
    /// <summary>No per-job option: the settings apply.</summary>
    public static JobSchedulerOptions None { get; } = new();

    /// <summary>Slurm partition (-Partition, overrides SLURM_PARTITION); null = the setting.</summary>
    public string? Partition { get; init; }

    /// <summary>Slurm account (-Account, overrides SLURM_ACCOUNT); null = the setting.</summary>
    public string? Account { get; init; }

    /// <summary>Slurm QOS (-Qos, overrides SLURM_QOS); null = the setting.</summary>
    public string? Qos { get; init; }

    /// <summary>Extra sbatch options for this job (-SchedulerOption), after SLURM_EXTRA_DIRECTIVES.</summary>
    public IReadOnlyList<string> Directives { get; init; } = [];

    /// <summary>Kubernetes namespace (-Namespace, overrides K8S_NAMESPACE); null = the setting.</summary>
    public string? Namespace { get; init; }

    /// <summary>The cmdlet parameters given, by name (Partition, Account, Qos, SchedulerOption, Namespace).</summary>
    public IReadOnlyList<string> Given =>
        new (string Name, bool Set)[]
        {
            (nameof(Partition), Partition is not null),
            (nameof(Account), Account is not null),
            (nameof(Qos), Qos is not null),
            ("SchedulerOption", Directives.Count > 0),
            (nameof(Namespace), Namespace is not null),
        }.Where(p => p.Set).Select(p => p.Name).ToList();

    /// <summary>Text that cannot be one option on one line: empty, or with a control character (a newline would start a new directive).</summary>
    public static bool IsUnusable(string? value) => value is not null && (value.Trim().Length == 0 || value.Any(char.IsControl));
}
