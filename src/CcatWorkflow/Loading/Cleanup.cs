using CcatWorkflow.Core;

namespace CcatWorkflow.Commands.Loading;

/// <summary>
/// Touches Core types, so it lives apart from <see cref="ModuleLoader"/>: the loader must be
/// JIT-compiled before the resolve hook exists, and must not reference Core itself.
/// </summary>
internal static class Cleanup
{
    public static void DisposeBackends()
    {
        // The PowerShell jobs' monitor first: it uses the backends.
        Jobs.CcatJobMonitor.Shutdown();
        Task.Run(BackendRegistry.DisposeAllAsync).GetAwaiter().GetResult();
    }
}
