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

    private readonly LocalBackendOptions _options;

    public RunnerLauncher(LocalBackendOptions options) => _options = options;

    /// <summary>The runner a submission would start now, or null when none is installed.</summary>
    public LocalRunnerProgram? Choose() => LocalRunnerProgram.Candidates(_options).FirstOrDefault();

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

        var pid = 0;
        var failures = new List<string>();
        try
        {
            foreach (var runner in candidates)
            {
                // A native binary that does not run here (exec format, missing loader) falls back to the next one.
                var err = PosixSpawn.Start(runner.Program, runner.Argv(dir.Path), env, secretsRead, log, log, out pid);
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
            await WaitForStartAsync(dir, pid, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await feeding.ConfigureAwait(false);
        }

        await WaitForStartAsync(dir, pid, cancellationToken).ConfigureAwait(false);
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

    /// <summary>The submitting process's environment (as .NET sees it: pwsh's $env: changes included) plus the store's options.</summary>
    private List<string> RunnerEnvironment()
    {
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            var name = (string)e.Key;
            if (name == LocalStoreOptions.RunnerVariable) continue;
            env.Add(name + "=" + (e.Value as string ?? ""));
        }

        env.Add(LocalStoreOptions.RunnerVariable + "=" + _options.Store.ToJson());
        return env;
    }

    private async Task WaitForStartAsync(LocalJobDirectory dir, int pid, CancellationToken cancellationToken)
    {
        var id = Path.GetFileName(dir.Path);
        var deadline = DateTime.UtcNow + _options.LaunchTimeout;
        var ticks = ProcFs.TryReadStat(pid)?.StartTicks;
        var delay = 1; // ms, doubling to 100: a native runner reports within a few ms
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
