using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Local;

public sealed class RunnerLauncherTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ccat-launcher-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Ctrl_C_while_the_launch_shell_runs_does_not_interrupt_it_and_nothing_is_left_submitted()
    {
        using var cts = new CancellationTokenSource();
        var launch = new CancellingRunner(cts);
        var backend = new LocalBackend(new LocalBackendOptions
        {
            Store = new LocalStoreOptions { Kind = "file", JobRoot = _root },
            RunnerAssemblyPath = typeof(RunnerLauncherTests).Assembly.Location, // any existing file: the launch is faked
            DotnetPath = "/bin/true",
        }, commands: launch);

        // The fake shell "fails" (no pid): the submission is rolled back as a refusal, not torn
        // down half-way by the cancellation that arrived while the shell ran.
        var ex = await Assert.ThrowsAsync<CcatException>(() =>
            backend.SubmitAsync(new JobSubmission { ExecutionCommand = "true", JobName = "launch" }, cts.Token));
        Assert.Equal(CcatErrorId.SubmissionRejected, ex.ErrorId);
        Assert.False(launch.TokenSeen.CanBeCanceled);
        Assert.Empty(Directory.EnumerateDirectories(_root));
    }

    private sealed class CancellingRunner(CancellationTokenSource cts) : ICommandRunner
    {
        public CancellationToken TokenSeen { get; private set; }

        public Task<CommandResult> RunAsync(string program, IReadOnlyList<string> arguments, CommandOptions? options, CancellationToken cancellationToken)
        {
            TokenSeen = cancellationToken;
            cts.Cancel(); // Ctrl+C while the shell is starting the runner
            return Task.FromResult(new CommandResult(1, "", "sh: simulated failure", TimeSpan.Zero));
        }
    }
}
