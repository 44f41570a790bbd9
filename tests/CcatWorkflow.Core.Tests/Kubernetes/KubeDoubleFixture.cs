using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.KubeApiDouble;
using k8s;

namespace CcatWorkflow.Core.Tests.Kubernetes;

/// <summary>
/// One API-server double per test class, over HTTPS with a bearer token, as the backend meets
/// a real cluster. Namespace ccat-test runs pods' commands on this host; ccat-manual leaves
/// them for the test to drive.
/// </summary>
public sealed class KubeDoubleFixture : IAsyncLifetime
{
    public const string Token = "ccat-test-token";
    public const string RunNamespace = "ccat-test";
    public const string ManualNamespace = "ccat-manual";

    public KubeApiDouble.KubeApiDouble Server { get; private set; } = null!;

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "ccat-k8s-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public string Kubeconfig => Path.Combine(Directory, "kubeconfig");

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        Server = await KubeApiDouble.KubeApiDouble.StartAsync(new KubeApiDoubleOptions { Https = true, Token = Token, Mode = PodMode.Run });
        await File.WriteAllTextAsync(Kubeconfig, Server.Kubeconfig());
    }

    /// <summary>A kubeconfig file with variations (wrong token, no CA, other server).</summary>
    public string WriteKubeconfig(string name, string? token = null, bool includeCa = true, Uri? server = null)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, Server.Kubeconfig(token, includeCa, server));
        return path;
    }

    /// <summary>A backend on the double.</summary>
    public KubernetesBackend Backend(string ns = RunNamespace, Func<KubernetesOptions, KubernetesOptions>? tweak = null, string? kubeconfig = null)
    {
        var options = new KubernetesOptions { Namespace = ns, Kubeconfig = kubeconfig ?? Kubeconfig, RunnerImage = "ghcr.io/apptainer/apptainer:1.3.6" };
        return new KubernetesBackend(tweak is null ? options : tweak(options), _ => null);
    }

    /// <summary>A plain KubernetesClient on the double (to look behind the backend's back).</summary>
    public k8s.Kubernetes Client(string? kubeconfig = null) =>
        new(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig ?? Kubeconfig));

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Eventually
{
    /// <summary>Polls until <paramref name="done"/> holds (no timing assertion: the limit only stops a hung test).</summary>
    public static async Task<T> Until<T>(Func<Task<T>> read, Func<T, bool> done, int seconds = 30)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var value = await read();
            if (done(value)) return value;
            if (DateTime.UtcNow > until) throw new Xunit.Sdk.XunitException($"condition not reached in {seconds}s; last value: {value}");
            await Task.Delay(100);
        }
    }

    public static Task<HPCJobInfo> Finished(HPCBackend backend, string id, int seconds = 30) =>
        Until(() => backend.GetStatusAsync(id, CancellationToken.None), i => i.IsFinished, seconds);
}
