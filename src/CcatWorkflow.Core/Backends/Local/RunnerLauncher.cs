using System.Globalization;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Starts the runner of a job, detached from the submitting session, and waits until it
/// reports the job started. The runner is
/// <c>dotnet CcatWorkflow.LocalRunner.dll run &lt;job dir&gt;</c>, started by
/// <c>/bin/sh</c> in the background with stdin a pipe (that carries the job's secret variables,
/// see <see cref="LocalSecretChannel"/>, and is then closed) and its output appended to the
/// job's <c>runner.log</c>; its argv goes in as positional parameters, never into the script text.
/// The runner then makes itself a session leader. Hang-up and terminal stop signals are ignored
/// from the start, so closing the submitting terminal cannot end it.
/// </summary>
internal sealed class RunnerLauncher
{
    /// <summary>The runner's file name.</summary>
    public const string RunnerFileName = "CcatWorkflow.LocalRunner.dll";

    // The runner's stdin is the launch's stdin (the secrets' pipe), through fd 3: a background
    // command's own stdin is /dev/null before any redirection of it is applied.
    private const string LaunchScript =
        "log=$1; shift; trap '' HUP TSTP TTIN TTOU; exec 3<&0; \"$@\" <&3 3<&- >>\"$log\" 2>&1 & echo $!";

    private readonly LocalBackendOptions _options;
    private readonly ICommandRunner _commands;

    public RunnerLauncher(LocalBackendOptions options, ICommandRunner commands)
    {
        _options = options;
        _commands = commands;
    }

    /// <summary>The runner assembly that would be used, or null when it is not installed.</summary>
    public string? FindRunner()
    {
        if (_options.RunnerAssemblyPath is { } given) return File.Exists(given) ? given : null;
        var here = Path.GetDirectoryName(typeof(RunnerLauncher).Assembly.Location);
        if (string.IsNullOrEmpty(here)) here = AppContext.BaseDirectory;
        return new[] { Path.Combine(here, RunnerFileName), Path.Combine(here, "runner", RunnerFileName) }.FirstOrDefault(File.Exists);
    }

    /// <summary>The argv that starts the runner for <paramref name="jobDir"/> (for DescribeSubmission too).</summary>
    public IReadOnlyList<string> RunnerArgv(string jobDir) =>
        [_options.DotnetPath ?? DotnetHost.Find() ?? "dotnet", FindRunner() ?? RunnerFileName, "run", jobDir];

    /// <summary>
    /// Starts the runner, hands it <paramref name="secrets"/> over its stdin, and waits until it has written runner.json (the job runs) or
    /// result.json (it decided the job's end without running it). Throws
    /// <see cref="CcatErrorId.SubmissionRejected"/> when the runner could not be started or died
    /// first; the caller rolls the submission back.
    /// </summary>
    public async Task<int> StartAsync(LocalJobDirectory dir, IReadOnlyList<KeyValuePair<string, string>> secrets, CancellationToken cancellationToken)
    {
        var id = Path.GetFileName(dir.Path);
        var dotnet = _options.DotnetPath ?? DotnetHost.Find()
            ?? throw new CcatException(CcatErrorId.SubmissionRejected,
                "The Local backend needs the dotnet host to start its runner, and none was found (looked at: " +
                string.Join(", ", DotnetHost.Candidates().Distinct()) + ").", id);
        var runner = FindRunner()
            ?? throw new CcatException(CcatErrorId.SubmissionRejected,
                $"The Local runner ({RunnerFileName}) is not installed next to {typeof(RunnerLauncher).Assembly.Location}.", id);

        CommandResult launched;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Not interrupted once started (Ctrl+C included): the shell may already have started
            // the runner in the background, and without its pid nothing could stop it while the
            // submission is rolled back. The shell returns at once; the timeout bounds it.
            launched = await _commands.RunAsync("/bin/sh",
                ["-c", LaunchScript, "ccat-launch", dir.FilePath(LocalJobDirectory.RunnerLogFile), dotnet, runner, "run", dir.Path],
                new CommandOptions(
                    Environment: new Dictionary<string, string?> { [LocalStoreOptions.RunnerVariable] = _options.Store.ToJson() },
                    StandardInput: LocalSecretChannel.Serialize(secrets),
                    Timeout: TimeSpan.FromSeconds(30)),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CommandLaunchException or TimeoutException)
        {
            throw new CcatException(CcatErrorId.SubmissionRejected, $"Cannot start the Local runner: {e.Message}", id, e);
        }

        if (launched.ExitCode != 0 || !int.TryParse(launched.StandardOutput.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
        {
            throw new CcatException(CcatErrorId.SubmissionRejected,
                $"Cannot start the Local runner: /bin/sh exited with {launched.ExitCode}: {launched.StandardError.Trim()}", id);
        }

        await WaitForStartAsync(dir, pid, cancellationToken).ConfigureAwait(false);
        return pid;
    }

    private async Task WaitForStartAsync(LocalJobDirectory dir, int pid, CancellationToken cancellationToken)
    {
        var id = Path.GetFileName(dir.Path);
        var deadline = DateTime.UtcNow + _options.LaunchTimeout;
        var ticks = ProcFs.TryReadStat(pid)?.StartTicks;
        var delay = 10;
        try
        {
            while (true)
            {
                if (File.Exists(dir.FilePath(LocalJobDirectory.RunnerFile)) || dir.HasResult) return;
                if (ProcFs.TryReadStat(pid) is not { HasExited: false } st || (ticks is { } t && st.StartTicks != t))
                {
                    // It may have written its file just before it ended.
                    if (File.Exists(dir.FilePath(LocalJobDirectory.RunnerFile)) || dir.HasResult) return;
                    throw new CcatException(CcatErrorId.SubmissionRejected,
                        $"The Local runner ended before it started the job. {RunnerLog(dir)}", id);
                }

                if (DateTime.UtcNow >= deadline)
                {
                    await AbandonAsync(dir, pid, ticks).ConfigureAwait(false);
                    throw new CcatException(CcatErrorId.SubmissionRejected,
                        $"The Local runner did not start the job within {_options.LaunchTimeout.TotalSeconds:0} s. {RunnerLog(dir)}", id);
                }

                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = Math.Min(delay * 2, 100);
            }
        }
        catch (OperationCanceledException)
        {
            await AbandonAsync(dir, pid, ticks).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Ends a runner the submission gives up on, and the job if it started meanwhile, so that
    /// a rolled-back submission leaves nothing running.
    /// </summary>
    private async Task AbandonAsync(LocalJobDirectory dir, int pid, ulong? ticks)
    {
        if (ticks is { } t && ProcFs.IsAlive(pid, t))
        {
            // The job may have started an instant before runner.json was written: take the
            // runner's descendants first, then end the runner, then them.
            var descendants = ProcFs.Descendants(ProcFs.Snapshot(), pid);
            _ = LocalNative.Kill(pid, LocalNative.SIGKILL);
            foreach (var d in descendants.Where(d => d.StartTicks >= t))
            {
                _ = LocalNative.Kill(d.Pid, LocalNative.SIGKILL);
            }
        }

        try
        {
            if (dir.TryReadRunner() is { } state && state.IsOnThisMachine())
            {
                await JobSessionKiller.EndAsync(Path.GetFileName(dir.Path), state, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is CcatException or IOException)
        {
            // nothing more to end
        }
    }

    /// <summary>The end of runner.log, for error messages.</summary>
    public static string RunnerLog(LocalJobDirectory dir)
    {
        try
        {
            var text = File.ReadAllText(dir.FilePath(LocalJobDirectory.RunnerLogFile)).Trim();
            if (text.Length == 0) return "runner.log is empty.";
            return "runner.log: " + (text.Length > 2000 ? "…" + text[^2000..] : text);
        }
        catch (IOException)
        {
            return "runner.log is missing.";
        }
    }
}
