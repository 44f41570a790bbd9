using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Tests.Kubernetes;
using CcatWorkflow.Core.Tests.Local;

namespace CcatWorkflow.Core.Tests.Contract;

/// <summary>The contract on the Local backend (real runner processes), on the store the subclass names.</summary>
public abstract class LocalContractTests : BackendContract, IAsyncLifetime
{
    private readonly string _root = TestInfra.NewTempDirectory("contract-jobs");
    private LocalBackend _backend = null!;

    protected override HPCBackend Backend => _backend;

    protected override string UnknownId => "00000000-0000-4000-8000-000000000000";

    /// <summary>The job store, its job folders under <paramref name="root"/>.</summary>
    private protected abstract LocalStoreOptions StoreOptions(string root);

    public Task InitializeAsync()
    {
        _backend = new LocalBackend(new LocalBackendOptions
        {
            Store = StoreOptions(_root),
            CancelGrace = TimeSpan.FromSeconds(1),
            RunnerAssemblyPath = LocalTestKit.RunnerAssembly,
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _backend.DisposeAsync();
        await LocalBackendBehaviour.EndEverythingUnder(_root);
    }
}

/// <summary>The contract on the Local backend with the embedded file store.</summary>
[Trait("Tier", "Process")]
public sealed class LocalFileStoreContractTests : LocalContractTests
{
    private protected override LocalStoreOptions StoreOptions(string root) => new() { Kind = "file", JobRoot = root };
}

/// <summary>The contract on the Local backend with the Redis store (the shared test Redis).</summary>
[Trait("Tier", "Service")]
public sealed class LocalRedisStoreContractTests(RedisServerFixture redis) : LocalContractTests, IClassFixture<RedisServerFixture>
{
    private protected override LocalStoreOptions StoreOptions(string root) =>
        new() { Kind = "redis", JobRoot = root, RedisHost = redis.Socket, RedisKeyPrefix = "ccat:contract:" + Guid.NewGuid().ToString("N")[..8] };
}

/// <summary>The contract on the Kubernetes backend against the API-server double (pods really run).</summary>
[Trait("Tier", "Service")]
public sealed class KubernetesContractTests(KubeDoubleFixture fx) : BackendContract, IAsyncLifetime, IClassFixture<KubeDoubleFixture>
{
    private HPCBackend _backend = null!;

    protected override HPCBackend Backend => _backend;

    protected override string UnknownId => "never-submitted-contract";

    public Task InitializeAsync()
    {
        _backend = fx.Backend();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _backend.DisposeAsync();
}

/// <summary>Starts (or finds) the shared single-node Slurm cluster of tests/infra/slurm.</summary>
public sealed class SlurmClusterFixture
{
    /// <summary>Runs the idempotent start script.</summary>
    public SlurmClusterFixture() => TestInfra.RunScript("tests/infra/slurm/start.sh");
}

/// <summary>The contract on the Slurm backend against the real cluster (sbatch, squeue, sacct, scancel).</summary>
[Trait("Tier", "Service")]
public sealed class SlurmContractTests : BackendContract, IAsyncLifetime, IClassFixture<SlurmClusterFixture>
{
    private readonly string _root = TestInfra.NewTempDirectory("contract-slurm");
    private HPCBackend _backend = null!;

    /// <summary>Takes the cluster fixture so the cluster is up before the first test.</summary>
    public SlurmContractTests(SlurmClusterFixture cluster) => _ = cluster;

    protected override HPCBackend Backend => _backend;

    protected override string UnknownId => "999999999";

    public Task InitializeAsync()
    {
        _backend = new Backends.Slurm.SlurmBackend(new Backends.Slurm.SlurmOptions { JobDirectory = _root }, Execution.CliWrapCommandRunner.Instance);
        return Task.CompletedTask;
    }

    // Only the cancel test leaves a long job, and it cancels it itself; the listing holds other
    // people's jobs on the shared cluster too, so nothing is cancelled from it here.
    public async Task DisposeAsync() => await _backend.DisposeAsync();
}
