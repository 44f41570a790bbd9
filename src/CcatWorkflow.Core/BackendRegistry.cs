using System.Collections.Concurrent;
using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Configuration;

namespace CcatWorkflow.Core;

/// <summary>
/// Builds backends from settings and keeps them for the module's lifetime, so a Redis
/// connection or a Kubernetes client is made once and reused across cmdlet calls. A backend is
/// rebuilt only when the settings it depends on change.
/// </summary>
public static class BackendRegistry
{
    private static readonly ConcurrentDictionary<string, Lazy<HPCBackend>> Cache = new();

    /// <summary>The backend of <paramref name="kind"/> for these settings.</summary>
    public static HPCBackend Get(HPCBackendKind kind, CcatSettings settings)
    {
        var names = kind switch
        {
            HPCBackendKind.Local => LocalBackend.SettingNames,
            HPCBackendKind.Slurm => SlurmBackend.SettingNames,
            HPCBackendKind.Kubernetes => KubernetesBackend.SettingNames,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var key = kind + "\n" + settings.Fingerprint(names);
        return Cache.GetOrAdd(key, _ => new Lazy<HPCBackend>(() => kind switch
        {
            HPCBackendKind.Local => LocalBackend.Create(settings),
            HPCBackendKind.Slurm => SlurmBackend.Create(settings),
            _ => KubernetesBackend.Create(settings),
        })).Value;
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
