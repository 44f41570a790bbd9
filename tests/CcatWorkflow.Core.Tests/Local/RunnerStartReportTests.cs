using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Logs;
using static CcatWorkflow.Core.Tests.Local.LocalTestKit;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>
/// The runner's start report: the submitter is woken by the runner's byte or by its end, not
/// by a timer, and the job never sees the runner's end of it.
/// </summary>
[Trait("Tier", "Process")] // starts processes, one a real Local job
public sealed class RunnerStartReportTests : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(2);
    private readonly string _folder = TestInfra.NewTempDirectory("report");
    private readonly List<int> _started = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        foreach (var pid in _started)
        {
            _ = LocalNative.Kill(pid, LocalNative.SIGKILL);
            _ = LocalNative.TryReap(pid);
        }

        return Task.CompletedTask;
    }

    // A stand-in runner: a shell that gets the report's end as descriptor 3, as the runner does.
    private int Spawn(RunnerStartReport report, string script)
    {
        var log = Path.Combine(_folder, "out.log");
        var err = PosixSpawn.Start("/bin/sh", ["/bin/sh", "-c", script], [], null, log, log, out var pid, report.ChildEnd);
        Assert.Equal(0, err);
        _started.Add(pid);
        report.CloseChildEnd();
        return pid;
    }

    [Fact]
    public async Task The_byte_wakes_the_submitter_while_the_runner_lives_on()
    {
        using var report = RunnerStartReport.TryCreate();
        Assert.NotNull(report);
        var pid = Spawn(report, $"printf x >&{RunnerStartReport.ChildFd}; exec sleep 300");

        await report.WaitAsync(Long, CancellationToken.None);

        Assert.True(report.Done);
        Assert.True(ProcFs.TryReadStat(pid) is { HasExited: false }, "woken by the byte, not by the runner's end");
    }

    [Fact]
    public async Task A_runner_that_ends_without_reporting_wakes_the_submitter_too()
    {
        using var report = RunnerStartReport.TryCreate();
        Assert.NotNull(report);
        var pid = Spawn(report, "exit 3");

        await report.WaitAsync(Long, CancellationToken.None);

        Assert.True(report.Done);
        await EventuallyAsync(() => ProcFs.TryReadStat(pid) is not { HasExited: false }, "the stand-in runner has ended");
    }

    [Fact]
    public async Task Without_a_byte_or_an_end_the_wait_returns_at_its_limit_and_can_be_asked_again()
    {
        using var report = RunnerStartReport.TryCreate();
        Assert.NotNull(report);
        Spawn(report, "exec sleep 300");

        await report.WaitAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None);
        Assert.False(report.Done);

        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => report.WaitAsync(Long, cancel.Token));
        Assert.False(report.Done);
    }

    [Fact]
    public async Task The_job_inherits_neither_the_report_descriptor_nor_its_variable()
    {
        var jobRoot = TestInfra.NewTempDirectory("jobs");
        await using var backend = new LocalBackend(new LocalBackendOptions
        {
            Store = new LocalStoreOptions { Kind = "file", JobRoot = jobRoot },
            RunnerAssemblyPath = RunnerAssembly,
        });
        try
        {
            var id = await backend.SubmitAsync(
                Job($"for f in /proc/$$/fd/*; do readlink \"$f\"; done; echo \"variable:${{{RunnerStartReport.Variable}:-none}}\""), CancellationToken.None);
            Assert.Equal(HPCJobStatus.Completed, (await WaitAsync(backend, id)).Status);
            var log = await backend.GetLogsAsync(id, new LogQuery(), CancellationToken.None);
            Assert.Contains("variable:none", log, StringComparison.Ordinal);
            Assert.DoesNotContain("socket:", log, StringComparison.Ordinal);
        }
        finally
        {
            await LocalBackendBehaviour.EndEverythingUnder(jobRoot);
        }
    }
}
