using System.Collections.Concurrent;
using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core;

/// <summary>
/// The backends the module knows (one <see cref="BackendDescriptor"/> each) and the instances
/// built from settings, kept for the module's lifetime so a Redis connection or a Kubernetes
/// client is made once and reused across cmdlet calls. An instance is rebuilt only when the
/// settings its descriptor names change. There is no fallback: an unknown kind is an error
/// that lists the valid ones.
/// </summary>
public static class BackendRegistry
{
    private static readonly ConcurrentDictionary<string, Lazy<HPCBackend>> Cache = new();
    private static readonly List<BackendDescriptor> Registered = [];

    static BackendRegistry()
    {
        Register(new SlurmBackendDescriptor());
        Register(new KubernetesBackendDescriptor());
        Register(new LocalBackendDescriptor());
    }

    /// <summary>Raised after a descriptor is added (the settings schema rebuilds its list).</summary>
    internal static event Action? Changed;

    /// <summary>Every registered backend, in registration order (the built-ins first).</summary>
    public static IReadOnlyList<BackendDescriptor> Descriptors
    {
        get
        {
            lock (Registered)
            {
                return Registered.ToArray();
            }
        }
    }

    /// <summary>
    /// Adds a backend. Its kind's name and aliases become valid for HPC_BACKEND and
    /// <c>-Backend</c>, its settings join the schema. A kind can be registered once.
    /// </summary>
    public static void Register(BackendDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        lock (Registered)
        {
            if (Registered.Any(d => d.Kind == descriptor.Kind))
            {
                throw new InvalidOperationException($"The {descriptor.Kind} backend is already registered.");
            }

            HPCBackendKind.Define(descriptor.Kind.Name, [.. descriptor.Aliases]);
            Registered.Add(descriptor);
        }

        Changed?.Invoke();
    }

    /// <summary>The descriptor of <paramref name="kind"/>; an unregistered kind is an error listing the valid ones.</summary>
    public static BackendDescriptor Describe(HPCBackendKind kind) =>
        Descriptors.FirstOrDefault(d => d.Kind == kind)
        ?? throw new CcatException(CcatErrorId.InvalidConfiguration,
            $"No backend '{kind}' is registered; valid backends: {ValidNames}.");

    /// <summary>The registered backend names, for messages: "Slurm, Kubernetes, Local".</summary>
    public static string ValidNames => string.Join(", ", Descriptors.Select(d => d.Kind.Name));

    /// <summary>
    /// Parses a backend name or alias (any case, surrounding spaces ignored); anything else —
    /// including a list such as <c>slurm,local</c> — is null.
    /// </summary>
    public static HPCBackendKind? TryParse(string? text) =>
        HPCBackendKind.TryParse(text, out var kind) && Descriptors.Any(d => d.Kind == kind) ? kind : null;

    /// <summary>The backend of <paramref name="kind"/> for these settings.</summary>
    public static HPCBackend Get(HPCBackendKind kind, CcatSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var descriptor = Describe(kind);
        // The default backend's rules were checked when the settings loaded; another backend's
        // are checked when it is first asked for (SettingsLoader.Validate says why).
        Configuration.SettingsLoader.CheckRules(settings, descriptor.Settings.Select(d => d.Name));
        var key = kind.Name + "\n" + settings.Fingerprint(descriptor.SettingNames);
        return Cache.GetOrAdd(key, _ => new Lazy<HPCBackend>(() => descriptor.Create(settings))).Value;
    }

    /// <summary>Disposes every cached backend (module removal).</summary>
    public static async Task DisposeAllAsync()
    {
        foreach (var (key, lazy) in Cache.ToArray())
        {
            if (Cache.TryRemove(key, out _) && lazy.IsValueCreated)
            {
                await lazy.Value.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
