using CcatWorkflow.Core.Errors;
using k8s;
using k8s.Exceptions;
using k8s.KubeConfigModels;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Finds the cluster the way kubectl does: K8S_KUBECONFIG, else the <c>KUBECONFIG</c>
/// variable (a list of files, merged), else <c>~/.kube/config</c>, else the in-cluster service
/// account. K8S_CONTEXT picks a kubeconfig context (ignored in-cluster).
/// </summary>
public static class KubernetesClientFactory
{
    /// <summary>Where the configuration came from, and the configuration itself.</summary>
    /// <param name="Source">A stable description of the source (also the key for re-creating the client when it changes).</param>
    /// <param name="Configuration">The client configuration.</param>
    public sealed record Resolved(string Source, KubernetesClientConfiguration Configuration);

    /// <summary>The source the settings and environment point at, without reading it.</summary>
    public static string DescribeSource(KubernetesOptions options, Func<string, string?> getEnvironment)
    {
        var files = KubeconfigFiles(options, getEnvironment);
        return files.Count > 0 ? "kubeconfig:" + string.Join(Path.PathSeparator, files) + "#" + options.Context
            : KubernetesClientConfiguration.IsInCluster() ? "in-cluster" : "none";
    }

    /// <summary>Builds the client configuration. Throws InvalidConfiguration when there is none or it is broken.</summary>
    public static Resolved Resolve(KubernetesOptions options, Func<string, string?> getEnvironment)
    {
        var files = KubeconfigFiles(options, getEnvironment);
        try
        {
            if (files.Count > 0)
            {
                var missing = files.Where(f => !File.Exists(f)).ToList();
                if (options.Kubeconfig.Length > 0 && missing.Count > 0)
                {
                    throw new CcatException(CcatErrorId.InvalidConfiguration, $"K8S_KUBECONFIG names '{missing[0]}', which does not exist.");
                }

                var existing = files.Where(File.Exists).Select(f => new FileInfo(f)).ToArray();
                var merged = Merge(existing.Select(f => KubernetesClientConfiguration.LoadKubeConfig(f)).ToList());
                var config = KubernetesClientConfiguration.BuildConfigFromConfigObject(merged, options.Context.Length == 0 ? null : options.Context);
                return new Resolved("kubeconfig:" + string.Join(Path.PathSeparator, files) + "#" + options.Context, config);
            }

            if (KubernetesClientConfiguration.IsInCluster())
            {
                return new Resolved("in-cluster", KubernetesClientConfiguration.InClusterConfig());
            }
        }
        catch (KubeConfigException e)
        {
            throw new CcatException(CcatErrorId.InvalidConfiguration, $"The kubeconfig ({string.Join(", ", files)}) cannot be used: {e.Message}", null, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or YamlDotNet.Core.YamlException)
        {
            throw new CcatException(CcatErrorId.InvalidConfiguration, $"The kubeconfig ({string.Join(", ", files)}) cannot be read: {e.Message}", null, e);
        }

        throw new CcatException(CcatErrorId.InvalidConfiguration,
            "No Kubernetes configuration found: set K8S_KUBECONFIG or KUBECONFIG, create ~/.kube/config, or run inside a cluster with a service account.");
    }

    /// <summary>Creates a client for the configuration.</summary>
    public static k8s.Kubernetes CreateClient(KubernetesClientConfiguration configuration) => new(configuration, new KubernetesCallLogger());

    /// <summary>Merges kubeconfig files as kubectl does: for each name, the first file that defines it wins.</summary>
    private static K8SConfiguration Merge(IReadOnlyList<K8SConfiguration> configs)
    {
        var merged = configs[0];
        foreach (var next in configs.Skip(1))
        {
            merged.CurrentContext = string.IsNullOrEmpty(merged.CurrentContext) ? next.CurrentContext : merged.CurrentContext;
            merged.Clusters = Union(merged.Clusters, next.Clusters, c => c.Name);
            merged.Users = Union(merged.Users, next.Users, u => u.Name);
            merged.Contexts = Union(merged.Contexts, next.Contexts, c => c.Name);
        }

        return merged;
    }

    private static List<T> Union<T>(IEnumerable<T>? first, IEnumerable<T>? second, Func<T, string> name)
    {
        var list = (first ?? []).ToList();
        var names = list.Select(name).ToHashSet(StringComparer.Ordinal);
        list.AddRange((second ?? []).Where(x => names.Add(name(x))));
        return list;
    }

    private static List<string> KubeconfigFiles(KubernetesOptions options, Func<string, string?> getEnvironment)
    {
        if (options.Kubeconfig.Length > 0)
        {
            return [Expand(options.Kubeconfig, getEnvironment)];
        }

        if (getEnvironment("KUBECONFIG") is { Length: > 0 } list)
        {
            var files = list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(f => Expand(f, getEnvironment)).Where(File.Exists).ToList();
            if (files.Count > 0) return files; // kubectl skips missing entries of the list
        }

        var home = getEnvironment("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var defaultFile = Path.Combine(home, ".kube", "config");
        return File.Exists(defaultFile) ? [defaultFile] : [];
    }

    private static string Expand(string path, Func<string, string?> getEnvironment)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
        {
            var home = getEnvironment("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            path = home + path[1..];
        }

        return Path.GetFullPath(path);
    }
}
