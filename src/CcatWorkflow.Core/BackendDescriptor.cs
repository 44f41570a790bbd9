using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Core;

/// <summary>
/// The one registration of a backend: its kind (and the other names it answers to), the
/// settings it owns and the ones it reads, and how to build it. The registry, HPC_BACKEND's
/// parsing, the settings schema, the README's settings table and every message that lists the
/// valid backends come from the descriptors (<see cref="BackendRegistry"/>).
/// </summary>
public abstract class BackendDescriptor
{
    /// <summary>The backend's kind; its name is what <c>-Backend</c> and HPC_BACKEND accept.</summary>
    public abstract HPCBackendKind Kind { get; }

    /// <summary>Other names HPC_BACKEND and <c>-Backend</c> accept (e.g. <c>k8s</c>).</summary>
    public virtual IReadOnlyList<string> Aliases => [];

    /// <summary>The settings this backend owns (defined nowhere else).</summary>
    public virtual IReadOnlyList<SettingDefinition> Settings => [];

    /// <summary>Settings owned elsewhere (shared ones) that this backend also reads.</summary>
    public virtual IReadOnlyList<string> SharedSettings => [];

    /// <summary>Every setting the backend depends on: a change rebuilds its cached instance.</summary>
    public IEnumerable<string> SettingNames => Settings.Select(s => s.Name).Concat(SharedSettings);

    /// <summary>Builds the backend from loaded (already checked) settings. Connects to nothing yet.</summary>
    public abstract HPCBackend Create(CcatSettings settings);
}
