namespace CcatWorkflow.KubeApiDouble;

/// <summary>How the double runs pods.</summary>
public enum PodMode
{
    /// <summary>Pods wait in ContainerCreating until a test drives them (control API).</summary>
    Manual,
    /// <summary>Each pod's command really runs on this host (the image is ignored) and reports its exit code and output.</summary>
    Run,
}

/// <summary>Options of one double instance.</summary>
public sealed record KubeApiDoubleOptions
{
    /// <summary>Serve HTTPS with a self-signed certificate (its PEM is <see cref="KubeApiDouble.CaPem"/>).</summary>
    public bool Https { get; init; }

    /// <summary>Bearer token every API request must carry; null = no authentication.</summary>
    public string? Token { get; init; }

    /// <summary>Default pod mode.</summary>
    public PodMode Mode { get; init; } = PodMode.Manual;

    /// <summary>Namespaces whose pods are always driven by hand, whatever <see cref="Mode"/> says.</summary>
    public IReadOnlySet<string> ManualNamespaces { get; init; } = new HashSet<string> { "ccat-manual" };

    /// <summary>
    /// Namespaces that exist. Creating anything elsewhere is 404 (as on a real server); listing
    /// elsewhere returns an empty list (also as on a real server).
    /// </summary>
    public IReadOnlySet<string> Namespaces { get; init; } =
        new HashSet<string> { "default", "kube-system", "ccat-workflows", "ccat-test", "ccat-manual", "ccat-forbidden" };

    /// <summary>Namespaces where RBAC denies everything (403 with the real message), to test Forbidden without injection.</summary>
    public IReadOnlySet<string> ForbiddenNamespaces { get; init; } = new HashSet<string> { "ccat-forbidden" };

    /// <summary>The user name shown in RBAC messages.</summary>
    public string UserName { get; init; } = "system:serviceaccount:ccat-workflows:ccat-runner";

    /// <summary>Port to listen on; 0 = any free port.</summary>
    public int Port { get; init; }

    /// <summary>Delay before the Job controller replaces a failed pod (real: 10 s, doubling).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Delay between ErrImagePull and ImagePullBackOff in run mode.</summary>
    public TimeSpan ImagePullBackOffDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Delay before a deleted object's dependants are collected (Background propagation).</summary>
    public TimeSpan GarbageCollectionDelay { get; init; } = TimeSpan.FromMilliseconds(50);
}
