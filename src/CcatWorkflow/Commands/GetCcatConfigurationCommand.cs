using System.Management.Automation;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Commands;

/// <summary>
/// <para type="synopsis">Shows the effective settings and where each value came from.</para>
/// <para type="description">Settings follow Dynaconf: CCAT_WORKFLOW_MANAGER_&lt;SETTING&gt; environment variables override the secrets file, which overrides the settings.toml section chosen by ENV_FOR_DYNACONF, which overrides its [default] section and the built-in defaults. Secrets are masked. Keys in the files that the module does not know are reported as warnings.</para>
/// </summary>
/// <example>
/// <code>Get-CcatConfiguration</code>
/// <para>Every setting, its effective value and where it came from.</para>
/// </example>
/// <example>
/// <code>$env:ENV_FOR_DYNACONF = 'production'; Get-CcatConfiguration HPC_BACKEND, SLURM_*</code>
/// <para>What the production section of settings.toml selects.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "CcatConfiguration", HelpUri = HelpLinks.Online)]
[OutputType(typeof(CcatSetting))]
public sealed class GetCcatConfigurationCommand : CcatCmdlet
{
    /// <summary>Only settings whose name matches (wildcards allowed).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completion.SettingNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Also lists the keys of the files and CCAT_WORKFLOW_MANAGER_ variables the module does not use (IsKnown false), as Dynaconf reads them.</summary>
    [Parameter]
    public SwitchParameter IncludeUnknown { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var settings = Settings;
        WriteVerbose($"Environment '{settings.Environment}'; settings file: {settings.SettingsFile ?? "none"}; secrets file: {settings.SecretsFile ?? "none"}.");
        foreach (var unknown in settings.UnknownKeys)
        {
            WriteWarning($"Unknown setting ignored: {unknown}");
        }

        var patterns = Name?.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        foreach (var v in settings.Values)
        {
            if (patterns is not null && !patterns.Any(p => p.IsMatch(v.Definition.Name))) continue;
            var masked = v.Definition.IsSecret && v.Value is string { Length: > 0 };
            WriteObject(new CcatSetting(
                v.Definition.Name,
                masked ? "********" : DynaconfValue.ToPlain(v.AsRead),
                CcatSettings.Format(v.Value, v.Definition.IsSecret),
                v.Source.ToString(),
                v.Origin,
                v.Definition.Description,
                v.Definition.IsSecret,
                settings.Environment));
        }

        // Read-only: which Local runner submissions start here (LOCAL_RUNNER and what is installed).
        if (patterns is null || patterns.Any(p => p.IsMatch(LocalRunnerInUse)))
        {
            var runner = LocalBackend.DescribeRunner(settings);
            WriteObject(new CcatSetting(LocalRunnerInUse, runner.Kind, runner.Kind, "Detected", runner.Location,
                "Which Local runner jobs get on this machine (read-only): native (ccat-runner, Native AOT) or managed (dotnet CcatWorkflow.LocalRunner.dll); follows LOCAL_RUNNER and what is installed.",
                false, settings.Environment));
        }

        // Read-only: the cgroups Local jobs get here (memory_gb and cpu enforced by the kernel; else memory_gb sampled).
        if (patterns is null || patterns.Any(p => p.IsMatch(LocalCgroupInUse)))
        {
            var cgroups = LocalBackend.DescribeCgroups();
            WriteObject(new CcatSetting(LocalCgroupInUse, cgroups.Kind, cgroups.Kind, "Detected", cgroups.Location,
                "The cgroups each Local job gets on this machine (read-only): the pids cgroup marks its processes; with memory_gb a memory cgroup lets the kernel enforce the request (OutOfMemory and the peak from the kernel's counters); with cpu a cpu cgroup holds the job to that many CPUs (a CFS quota: cpu.cfs_quota_us on v1, cpu.max on v2). none: no writable hierarchy (not root, no delegation): memory_gb is checked by sampling and cpu is not limited.",
                false, settings.Environment));
        }

        if (!IncludeUnknown) return;
        foreach (var u in settings.Unknown)
        {
            if (patterns is not null && !patterns.Any(p => p.IsMatch(u.Name))) continue;
            WriteObject(new CcatSetting(u.Name, DynaconfValue.ToPlain(u.Value), u.Value is null ? "" : CcatSettings.Format(u.Value, mask: false),
                u.Source.ToString(), u.Origin, "", isSecret: false, settings.Environment, isKnown: false));
        }
    }

    private const string LocalRunnerInUse = "LOCAL_RUNNER_IN_USE";

    private const string LocalCgroupInUse = "LOCAL_CGROUP_IN_USE";
}
