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
    // command's own stdin is /dev/null before any redirection of it is applied. runner.log is
    // created 0600 (umask 077 for that one redirection only: the runner, and so the job, keep
    // the submitter's umask).
    private const string LaunchScript =
        "log=$1; shift; m=$(umask); umask 077; : >>\"$log\"; umask \"$m\"; trap '' HUP TSTP TTIN TTOU; exec 3<&0; \"$@\" <&3 3<&- >>\"$log\" 2>&1 & echo $!";

    /// <summary>The key of <see cref="Exception.Data"/> set on a launch error after which the job had started (no roll-back).</summary>
    public const string JobStartedKey = "CcatWorkflow.Local.JobStarted";

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
                    Environment: RunnerEnvironment(),
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

    /// <summary>
    /// The runner's environment on top of ours: the store options (which the runner removes
    /// before it starts the job), and without any secret setting given as a
    /// <c>CCAT_WORKFLOW_MANAGER_*</c> variable (REDIS_PASSWORD): the job must not inherit it.
    /// </summary>
    private Dictionary<string, string?> RunnerEnvironment()
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal) { [LocalStoreOptions.RunnerVariable] = _options.Store.ToJson() };
        foreach (var d in Configuration.SettingsSchema.All.Where(d => d.IsSecret))
        {
            env[Configuration.SettingsSchema.EnvPrefix + d.Name] = null;
        }

        return env;
    }

    /// <summary>
    /// The runner writes runner.json (create-only) before it starts the job, and starts it only
    /// when that worked: so runner.json present means the job may have started (the submission
    /// stands), and a runner that is gone without one provably never started it (roll back).
    /// </summary>
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
                if (Started(dir)) return;
                if (ProcFs.TryReadStat(pid) is not { HasExited: false } st || (ticks is { } t && st.StartTicks != t))
                {
                    // It may have written its file just before it ended.
                    if (Started(dir)) return;
                    throw new CcatException(CcatErrorId.SubmissionRejected,
                        $"The Local runner ended before it started the job (the job never ran). {RunnerLog(dir)}", id);
                }

                if (DateTime.UtcNow >= deadline)
                {
                    await AbandonAsync(dir, pid, ticks, $"The Local runner did not start the job within {_options.LaunchTimeout.TotalSeconds:0} s").ConfigureAwait(false);
                    throw new CcatException(CcatErrorId.SubmissionRejected,
                        $"The Local runner did not start the job within {_options.LaunchTimeout.TotalSeconds:0} s (the job never ran). {RunnerLog(dir)}", id);
                }

                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = Math.Min(delay * 2, 100);
            }
        }
        catch (OperationCanceledException)
        {
            await AbandonAsync(dir, pid, ticks, "The submission was cancelled").ConfigureAwait(false);
            throw;
        }
    }

    private static bool Started(LocalJobDirectory dir) => File.Exists(dir.FilePath(LocalJobDirectory.RunnerFile)) || dir.HasResult;

    /// <summary>
    /// Ends a runner the submission gives up on. Once it is gone, runner.json decides: absent,
    /// the job provably never started and the caller rolls back; present, it started in the
    /// meantime — its processes are ended, the result says so, and the error says the job ran
    /// (with its id) instead of pretending nothing happened.
    /// </summary>
    private static async Task AbandonAsync(LocalJobDirectory dir, int pid, ulong? ticks, string why)
    {
        var id = Path.GetFileName(dir.Path);
        if (ticks is { } t)
        {
            _ = LocalNative.Kill(pid, LocalNative.SIGKILL);
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (ProcFs.IsAlive(pid, t) && DateTime.UtcNow < until) await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
        }

        if (!File.Exists(dir.FilePath(LocalJobDirectory.RunnerFile))) return;

        var report = await JobSessionKiller.EndAsync(dir, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
        try
        {
            dir.TryWriteResult(new LocalJobResult
            {
                Reason = LocalJobRecord.ReasonText(HPCJobReason.Cancelled),
                StartedAt = dir.TryReadRunner()?.StartedAt,
                FinishedAt = DateTimeOffset.UtcNow,
                Message = $"{why}; it had started the job, and the submitter ended it. {report.Describe()}",
                RecordedBy = "submitter",
                Host = Environment.MachineName,
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CcatException)
        {
            // the store record and the folder stay: a reader finds the runner gone and says lost
        }

        var error = new CcatException(CcatErrorId.SubmissionRejected,
            $"{why}. Job {id} had started and was ended (not rolled back: it ran). {report.Describe()}", id);
        error.Data[JobStartedKey] = true;
        throw error;
    }

    /// <summary>The end of runner.log, for error messages.</summary>
    public static string RunnerLog(LocalJobDirectory dir)
    {
        try
        {
            var text = (SafeFile.ReadCappedText(dir.FilePath(LocalJobDirectory.RunnerLogFile), 16 * 1024 * 1024) ?? "").Trim();
            if (text.Length == 0) return "runner.log is empty.";
            return "runner.log: " + (text.Length > 2000 ? "…" + text[^2000..] : text);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "runner.log cannot be read.";
        }
    }
}
