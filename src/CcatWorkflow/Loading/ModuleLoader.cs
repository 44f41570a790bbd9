using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace CcatWorkflow.Commands.Loading;

/// <summary>
/// Runs on Import-Module: sends every request for the engine assembly to the private
/// <see cref="CoreLoadContext"/>, and on Remove-Module unhooks and closes the engine's clients.
/// </summary>
public sealed class ModuleLoader : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    internal const string CoreAssemblyName = "CcatWorkflow.Core";
    internal const string ModelAssemblyName = "CcatWorkflow.Model";

    private static readonly string DepsDirectory = Path.Combine(
        Path.GetDirectoryName(typeof(ModuleLoader).Assembly.Location)!, "deps");

    private static readonly Lazy<CoreLoadContext> Context = new(() => new CoreLoadContext(DepsDirectory));

    private static int _hooked;

    /// <summary>
    /// Hooks the resolver as soon as this assembly loads — before PowerShell scans it for
    /// cmdlets, which already needs the engine's types — and only once.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "A binary module is loaded by PowerShell, not by our code: this is the only hook that runs before the cmdlet scan.")]
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void Hook()
    {
        if (Interlocked.Exchange(ref _hooked, 1) == 0)
        {
            AssemblyLoadContext.Default.Resolving += Resolve;
        }
    }

    /// <inheritdoc />
    public void OnImport() => Hook();

    /// <inheritdoc />
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        AssemblyLoadContext.Default.Resolving -= Resolve;
        Interlocked.Exchange(ref _hooked, 0);
        if (Context.IsValueCreated)
        {
            Cleanup.DisposeBackends();
        }
    }

    private static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name) =>
        name.Name == CoreAssemblyName ? Context.Value.LoadFromAssemblyName(name) : null;
}
