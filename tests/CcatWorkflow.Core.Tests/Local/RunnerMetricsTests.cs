using CcatWorkflow.Core.Backends.Local;
using static CcatWorkflow.Core.Tests.Local.LocalTestKit;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>
/// The runner's measurements against jobs whose use is known: memory touched, CPU burnt, in one
/// process, in parallel processes, and in orphans the job leaves behind.
/// </summary>
[Trait("Tier", "Process")] // runs real jobs under the Local runner for seconds each (build.ps1 -Task Unit leaves it out)
public sealed class RunnerMetricsTests : IAsyncLifetime
{
    private const double MiB = 1024 * 1024, GiB = 1024 * MiB;
    private readonly string _root = TestInfra.NewTempDirectory("metrics");
    private LocalBackend _backend = null!;

    public Task InitializeAsync()
    {
        _backend = new LocalBackend(new LocalBackendOptions
        {
            Store = new LocalStoreOptions { Kind = "file", JobRoot = _root },
            RunnerAssemblyPath = RunnerAssembly,
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _backend.DisposeAsync();
        await LocalBackendBehaviour.EndEverythingUnder(_root);
    }

    private async Task<HPCJobInfo> RunAsync(string command)
    {
        var id = await _backend.SubmitAsync(Job(command), default);
        var info = await WaitAsync(_backend, id);
        Assert.True(info.Status == HPCJobStatus.Completed, $"{info} {info.Message} {await _backend.GetLogsAsync(id, Core.Logs.LogQuery.All, default)}");
        return info;
    }

    [Fact]
    public async Task A_job_that_touches_400_MiB_reports_its_peak_memory_within_10_percent()
    {
        // dd's buffer is one 400 MiB block that read() fills: every page is touched, for a moment only.
        var info = await RunAsync("dd if=/dev/zero of=/dev/null bs=400M count=1 iflag=fullblock 2>/dev/null");

        Assert.InRange(info.PeakMemoryGb!.Value, 0.9 * 400 * MiB / GiB, 1.1 * 400 * MiB / GiB);
    }

    [Fact]
    public async Task A_job_that_burns_3_seconds_of_CPU_reports_its_CPU_time_within_10_percent()
    {
        // Burns until its own user + system time reaches 3 s, however busy the machine is.
        var info = await RunAsync("perl -e 'my @t; do { $x++ for 1..100000; @t = times } while ($t[0] + $t[1] < 3)'");

        Assert.InRange(info.CpuHours!.Value * 3600, 2.7, 3.3);
        Assert.True(info.WallTimeSeconds >= 2.7, $"wall {info.WallTimeSeconds}"); // CPU time cannot exceed the elapsed time of one process
    }

    [Fact]
    public async Task Memory_of_processes_that_run_at_the_same_time_is_summed()
    {
        const string hold = "python3 -c \"import time; b = b'x' * (200 * 1024 * 1024); time.sleep(2)\"";

        var info = await RunAsync($"{hold} & {hold}; wait");

        // Each alone is about 210 MiB: only the sum of both reaches 400.
        Assert.InRange(info.PeakMemoryGb!.Value, 400 * MiB / GiB, 1.15 * 420 * MiB / GiB);
    }

    [Fact]
    public async Task CPU_of_an_orphan_the_job_left_behind_is_counted()
    {
        // The subshell exits at once; its perl child is orphaned, re-parented to the runner, and
        // burns 1.5 s of CPU while the job's shell blocks on a FIFO it opens when done (a
        // polling loop would fork a sleep every 0.1 s — more of them, and more CPU, the busier
        // the machine).
        var info = await RunAsync(
            "d=$(mktemp -d); mkfifo \"$d/done\"; " +
            "(/usr/bin/perl -e 'my @t; do { $x++ for 1..100000; @t = times } while ($t[0] + $t[1] < 1.5); open(F, \">\", \"$ARGV[0]/done\")' \"$d\" &); " +
            "read x < \"$d/done\"; rm -r \"$d\"");

        Assert.InRange(info.CpuHours!.Value * 3600, 1.35, 1.65);
    }

    [Fact]
    public async Task A_small_job_is_not_charged_with_the_runner_s_own_memory()
    {
        // The kernel starts a spawned process's peak-RSS record at its parent's; the runner must not report that.
        var info = await RunAsync("sleep 1");

        Assert.InRange(info.PeakMemoryGb!.Value, 0.1 * MiB / GiB, 16 * MiB / GiB);
    }
}
