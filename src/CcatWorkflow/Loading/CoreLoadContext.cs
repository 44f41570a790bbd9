using System.Reflection;
using System.Runtime.Loader;

namespace CcatWorkflow.Commands.Loading;

/// <summary>
/// The module's private load context: the engine (CcatWorkflow.Core) and every package it uses
/// (KubernetesClient, StackExchange.Redis, CliWrap, Tomlyn, …) load here from <c>deps/</c>, so
/// another module's older copy of a shared dependency cannot break ours, nor ours break it.
/// Framework assemblies and the public model assembly are left to the default context: the
/// model must be the one copy scripts can name (<c>[CcatWorkflow.HPCJobInfo]</c>).
/// </summary>
internal sealed class CoreLoadContext : AssemblyLoadContext
{
    private static readonly HashSet<string> FrameworkAssemblies = new(
        ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(Path.GetFileNameWithoutExtension)
            .OfType<string>(),
        StringComparer.OrdinalIgnoreCase);

    private readonly string _directory;

    public CoreLoadContext(string directory)
        : base("CcatWorkflow.Core", isCollectible: false) => _directory = directory;

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        var name = assemblyName.Name;
        if (name is null || name == ModuleLoader.ModelAssemblyName)
        {
            return null; // the default context's copy, so objects are of the type scripts name
        }

        var path = Path.Combine(_directory, name + ".dll");
        if (FrameworkAssemblies.Contains(name))
        {
            // On a newer runtime the framework copy wins; a package that re-ships an older
            // framework dll must not get a second copy here.
            var shipped = File.Exists(path) ? AssemblyName.GetAssemblyName(path).Version : null;
            var loaded = Default.Assemblies.FirstOrDefault(a => a.GetName().Name == name)?.GetName().Version
                ?? TryFrameworkVersion(name);
            if (shipped is null || loaded is null || loaded >= shipped)
            {
                return null;
            }
        }

        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    private static Version? TryFrameworkVersion(string name)
    {
        try
        {
            return Default.LoadFromAssemblyName(new AssemblyName(name)).GetName().Version;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
