using System.Diagnostics;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>Helpers shared by the Local backend tests.</summary>
internal static class LocalTestKit
{
    /// <summary>
    /// The runner in its own build output (bin/&lt;configuration&gt;/net8.0 of its project, the
    /// configuration being this test run's): a folder whose dependencies are the runner's, as in
    /// the module's deps/ folder.
    /// </summary>
    public static string RunnerAssembly { get; } = FindRunner();

    private static string FindRunner()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var path = Path.Combine(TestInfra.RepositoryRoot, "src", "CcatWorkflow.LocalRunner", "bin", configuration, "net8.0", RunnerLauncher.RunnerFileName);
        return File.Exists(path) ? path : throw new FileNotFoundException($"The runner is not built: {path}");
    }

    public static JobSubmission Job(string command, string name = "t", IReadOnlyList<KeyValuePair<string, string>>? env = null,
        ResourceRequirements? resources = null) => new()
    {
        ExecutionCommand = command,
        JobName = name,
        Environment = env ?? [],
        Resources = resources ?? ResourceRequirements.None,
    };

    /// <summary>Polls until the job has finished. Fails the test after two minutes (a hang, not a timing).</summary>
    public static async Task<HPCJobInfo> WaitAsync(HPCBackend backend, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            var info = await backend.GetStatusAsync(id, CancellationToken.None);
            if (info.IsFinished) return info;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Job {id} still {info.Status} after 2 minutes.");
            await Task.Delay(100);
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails after two minutes.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Still not true after 2 minutes: {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until the job's runner has recorded the job's process; returns what it recorded.</summary>
    public static async Task<LocalRunnerState> RunnerStateAsync(string jobRoot, string id)
    {
        var dir = new LocalJobDirectory(Path.Combine(jobRoot, id));
        LocalRunnerState? state = null;
        // runner.json is written first without the job's pid (before the job exists), then with it.
        await EventuallyAsync(() => (state = dir.TryReadRunner()) is { JobPid: > 0 }, $"runner.json of {id} with the job's pid");
        return state!;
    }

    /// <summary>Waits until the job has written <paramref name="text"/> to its stdout.</summary>
    public static Task StdoutContainsAsync(string jobRoot, string id, string text) =>
        EventuallyAsync(() =>
        {
            var path = Path.Combine(jobRoot, id, LocalJobDirectory.StdoutFile);
            return File.Exists(path) && File.ReadAllText(path).Contains(text, StringComparison.Ordinal);
        }, $"'{text}' in the stdout of {id}");

    /// <summary>Live processes whose session is <paramref name="sessionId"/>.</summary>
    public static List<ProcStat> SessionProcesses(int sessionId) =>
        ProcFs.Snapshot().Where(p => p.Session == sessionId && !p.HasExited).ToList();

    /// <summary>Runs the runner's <c>ctl</c> verbs in a separate process with the given settings.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> CtlAsync(IReadOnlyDictionary<string, string> settings, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        psi.ArgumentList.Add(RunnerAssembly);
        psi.ArgumentList.Add("ctl");
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in settings) psi.Environment["CCAT_WORKFLOW_MANAGER_" + k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"ctl {string.Join(' ', args)} did not finish within 3 minutes.");
        }

        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a long-lived process unrelated to any job, as the leader of its own session.</summary>
    public static Process StartUnrelatedSessionLeader()
    {
        var psi = new ProcessStartInfo("setsid") { UseShellExecute = false };
        psi.ArgumentList.Add("sleep");
        psi.ArgumentList.Add("600");
        return Process.Start(psi)!;
    }
}
