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

    /// <inheritdoc />
    public void OnImport() => AssemblyLoadContext.Default.Resolving += Resolve;

    /// <inheritdoc />
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        AssemblyLoadContext.Default.Resolving -= Resolve;
        if (Context.IsValueCreated)
        {
            Cleanup.DisposeBackends();
        }
    }

    private static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name) =>
        name.Name == CoreAssemblyName ? Context.Value.LoadFromAssemblyName(name) : null;
}
