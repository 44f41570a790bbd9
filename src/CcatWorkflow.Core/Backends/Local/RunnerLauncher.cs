using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Starts the runner of a job, detached from the submitting session, and waits until it
/// reports the job started. The runner is the native <c>ccat-runner run &lt;job dir&gt;</c> where
/// one fits this machine, else <c>dotnet CcatWorkflow.LocalRunner.dll run &lt;job dir&gt;</c>
/// (<see cref="LocalRunnerProgram"/>, LOCAL_RUNNER). It is started with one posix_spawn, no
/// shell in between: leader of a session of its own from its first instruction (closing the
/// submitting terminal or Ctrl+C cannot reach it), stdin a pipe that carries the job's secret
/// variables (<see cref="LocalSecretChannel"/>; /dev/null when there are none) and is then
/// closed, its output appended to the job's <c>runner.log</c>. It stays a child of the submitting process until it ends; the
/// launcher reaps it then (<see cref="ReapExited"/>), so no zombie outlives the next submission.
/// </summary>
internal sealed class RunnerLauncher
{
    /// <summary>The managed runner's file name.</summary>
    public const string RunnerFileName = LocalRunnerProgram.ManagedFileName;

    /// <summary>Runners this process started that have not been reaped yet.</summary>
    private static readonly List<int> Unreaped = [];

    /// <summary>The key of <see cref="Exception.Data"/> set on a launch error after which the job had started (no roll-back).</summary>
    public const string JobStartedKey = "CcatWorkflow.Local.JobStarted";

    private readonly LocalBackendOptions _options;

    public RunnerLauncher(LocalBackendOptions options) => _options = options;

    /// <summary>The runner a submission would start now, or null when none is installed.</summary>
    public LocalRunnerProgram? Choose() => LocalRunnerProgram.Candidates(_options) is [var first, ..] ? first : null;

    /// <summary>The argv that starts the runner for <paramref name="jobDir"/> (for DescribeSubmission too).</summary>
    public IReadOnlyList<string> RunnerArgv(string jobDir) =>
        Choose()?.Argv(jobDir) ?? ["dotnet", RunnerFileName, "run", jobDir];

    /// <summary>
    /// Starts the runner, hands it <paramref name="secrets"/> over its stdin, and waits until it has written runner.json (the job runs) or
    /// result.json (it decided the job's end without running it). Throws
    /// <see cref="CcatErrorId.SubmissionRejected"/> when the runner could not be started or died
    /// first; the caller rolls the submission back.
    /// </summary>
    public async Task<int> StartAsync(LocalJobDirectory dir, IReadOnlyList<KeyValuePair<string, string>> secrets, CancellationToken cancellationToken)
    {
        var id = Path.GetFileName(dir.Path);
        ReapExited();
        cancellationToken.ThrowIfCancellationRequested();
        var candidates = LocalRunnerProgram.Candidates(_options);
        if (candidates.Count == 0) throw NoRunner(id);

        var env = RunnerEnvironment();
        var log = dir.FilePath(LocalJobDirectory.RunnerLogFile);
        int? secretsRead = null, secretsWrite = null;
        if (secrets.Count > 0)
        {
            var perr = LocalNative.Pipe(out var r, out var w);
            if (perr != 0) throw new CcatException(CcatErrorId.SubmissionRejected, $"Cannot start the Local runner: no pipe for its secrets ({LocalNative.Strerror(perr)}).", id);
            (secretsRead, secretsWrite) = (r, w);
        }

        // Without a socket pair (none to be had) the wait below polls the folder, as it always may.
        using var report = RunnerStartReport.TryCreate();
        if (report is not null) env.Add(RunnerStartReport.Variable + "=" + RunnerStartReport.ChildFd.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var pid = 0;
        var failures = new List<string>();
        try
        {
            foreach (var runner in candidates)
            {
                // A native binary that does not run here (exec format, missing loader) falls back to the next one.
                var err = PosixSpawn.Start(runner.Program, runner.Argv(dir.Path), env, secretsRead, log, log, out pid, report?.ChildEnd);
                if (err == 0)
                {
                    lock (Unreaped) Unreaped.Add(pid);
                    break;
                }

                failures.Add($"{runner.Kind} runner {runner.Program}: {LocalNative.Strerror(err)}");
            }
        }
        finally
        {
            if (secretsRead is { } r) LocalNative.Close(r); // the runner holds its own copy
            report?.CloseChildEnd(); // likewise: its end of file then means the runner's is closed too
        }

        if (pid == 0)
        {
            if (secretsWrite is { } w) LocalNative.Close(w);
            throw new CcatException(CcatErrorId.SubmissionRejected, $"Cannot start the Local runner ({string.Join("; ", failures)}).", id);
        }

        // Fed beside the wait: a pipe holds 64 KiB, and the runner reads it all only once it runs.
        // A runner that dies first makes the write fail (EPIPE); the wait reports that death.
        var feeding = secretsWrite is { } fd ? Task.Run(() => Feed(fd, LocalSecretChannel.Serialize(secrets)), CancellationToken.None) : Task.CompletedTask;
        try
        {
            await WaitForStartAsync(dir, pid, report, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await feeding.ConfigureAwait(false);
        }

        return pid;
    }

    /// <summary>Writes <paramref name="text"/> to the pipe and closes it; a reader that went away is not an error here.</summary>
    private static void Feed(int fd, string text)
    {
        using var pipe = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, 1);
        try
        {
            pipe.Write(System.Text.Encoding.UTF8.GetBytes(text));
        }
        catch (IOException)
        {
            // the runner ended before reading: the wait for its start says so
        }
    }

    /// <summary>
    /// Reaps the runners this process started that have ended (they are its children: without
    /// a wait they would stay zombies until it exits). Never blocks.
    /// </summary>
    public static void ReapExited()
    {
        lock (Unreaped)
        {
            Unreaped.RemoveAll(pid => LocalNative.TryReap(pid));
        }
    }

    private CcatException NoRunner(string id)
    {
        var looked = new List<string>();
        if (_options.RunnerMode != LocalRunnerMode.Managed)
        {
            looked.Add($"native: {_options.NativeRunnerPath ?? LocalRunnerProgram.DefaultNativePath()}");
        }

        if (_options.RunnerMode != LocalRunnerMode.Native)
        {
            looked.Add(LocalRunnerProgram.FindManagedAssembly(_options) is null
                ? $"managed: {RunnerFileName} beside {LocalRunnerProgram.DepsDirectory()}"
                : "managed: a dotnet host (looked at: " + string.Join(", ", DotnetHost.Candidates().Distinct()) + ")");
        }

        return new CcatException(CcatErrorId.SubmissionRejected,
            $"No Local runner is installed for this machine (LOCAL_RUNNER={_options.RunnerMode.ToString().ToLowerInvariant()}; looked for {string.Join("; ", looked)}).", id);
    }

    /// <summary>
    /// The runner's environment: the submitting process's (as .NET sees it: pwsh's $env: changes
    /// included), without any secret setting given as a <c>CCAT_WORKFLOW_MANAGER_*</c> variable
    /// (REDIS_PASSWORD: the job must not inherit it), plus the store options (which the runner
    /// removes before it starts the job).
    /// </summary>
    private List<string> RunnerEnvironment()
    {
        var secretSettings = Configuration.SettingsSchema.All.Where(d => d.IsSecret)
            .Select(d => Configuration.SettingsSchema.EnvPrefix + d.Name).ToHashSet(StringComparer.Ordinal);
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            var name = (string)e.Key;
            if (name is LocalStoreOptions.RunnerVariable or RunnerStartReport.Variable || secretSettings.Contains(name)) continue;
            env.Add(name + "=" + (e.Value as string ?? ""));
        }

        env.Add(LocalStoreOptions.RunnerVariable + "=" + _options.Store.ToJson());
        return env;
    }

    /// <summary>
    /// The runner writes runner.json (create-only) before it starts the job, and starts it only
    /// when that worked: so runner.json present means the job may have started (the submission
    /// stands), and a runner that is gone without one provably never started it (roll back).
    /// The runner's start report (<paramref name="report"/>) wakes this wait the moment it has
    /// written runner.json, or has ended; the folder and the process decide, as without one.
    /// </summary>
    private async Task WaitForStartAsync(LocalJobDirectory dir, int pid, RunnerStartReport? report, CancellationToken cancellationToken)
    {
        var id = Path.GetFileName(dir.Path);
        var deadline = DateTime.UtcNow + _options.LaunchTimeout;
        var ticks = ProcFs.TryReadStat(pid)?.StartTicks;
        var delay = 1; // ms, doubling to 100: a native runner reports within a few ms
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

                if (report is { Done: false })
                {
                    // Woken by the report; the slice only bounds how late a hung runner is seen.
                    await report.WaitAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                    continue;
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

    // A dependent job's runner marks its wait instead: it lives, holds its lock, and will start or end the job.
    private static bool Started(LocalJobDirectory dir) => File.Exists(dir.FilePath(LocalJobDirectory.RunnerFile)) || dir.HasResult || LocalArrayFiles.IsWaitingForParents(dir);

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
