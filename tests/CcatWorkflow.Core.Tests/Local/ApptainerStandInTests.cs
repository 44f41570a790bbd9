using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;
using static CcatWorkflow.Core.Tests.Local.LocalTestKit;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>
/// Jobs in the SIF form (the line from <see cref="ApptainerCommandBuilder"/>) run by the Local
/// backend through the bubblewrap apptainer stand-in: the container contract as the container sees it.
/// </summary>
[Trait("Tier", "Service")] // needs a test service or a network listener (build.ps1 -Task Unit leaves it out)
public sealed class ApptainerStandInTests : IClassFixture<ApptainerStandInFixture>, IAsyncLifetime
{
    private readonly ApptainerStandInFixture _apptainer;
    private readonly string _root = TestInfra.NewTempDirectory("appt");
    private readonly string _hidden = Path.Combine("/dev/shm", "ccat-hidden-" + Guid.NewGuid().ToString("N")[..10]);
    private LocalBackend _backend = null!;

    public ApptainerStandInTests(ApptainerStandInFixture apptainer) => _apptainer = apptainer;

    public Task InitializeAsync()
    {
        _backend = new LocalBackend(new LocalBackendOptions
        {
            Store = new LocalStoreOptions { Kind = "file", JobRoot = Path.Combine(_root, "jobs") },
            CancelGrace = TimeSpan.FromSeconds(1),
            RunnerAssemblyPath = RunnerAssembly,
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _backend.DisposeAsync();
        await LocalBackendBehaviour.EndEverythingUnder(Path.Combine(_root, "jobs"));
        Directory.Delete(_root, recursive: true);
        if (Directory.Exists(_hidden)) Directory.Delete(_hidden, recursive: true);
    }

    private sealed record Layout(string Input, string Workspace, string Output, string Manifest, string Sif);

    private Layout MakeLayout()
    {
        var l = new Layout(Path.Combine(_root, "in"), Path.Combine(_root, "ws"), Path.Combine(_root, "out"),
            Path.Combine(_root, "cfg", "run-42.json"), Path.Combine(_root, "image.sif"));
        foreach (var d in new[] { l.Input, l.Workspace, l.Output, Path.GetDirectoryName(l.Manifest)! }) Directory.CreateDirectory(d);
        File.WriteAllText(Path.Combine(l.Input, "raw.dat"), "raw data\n");
        File.WriteAllText(l.Manifest, "{\"run\": 42}\n");
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(l.Manifest)!, "other-run.json"), "{}\n");
        File.WriteAllText(l.Sif, "not really an image");
        return l;
    }

    private JobSubmission SifJob(Layout l, string script, IReadOnlyList<KeyValuePair<string, string>>? env = null) => new()
    {
        ExecutionCommand = ApptainerCommandBuilder.BuildCommandLine(_apptainer.ApptainerPath, l.Sif, ["sh", "-c", script],
            l.Input, l.Workspace, l.Output, l.Manifest),
        SifPath = l.Sif,
        InputDir = l.Input,
        WorkspaceDir = l.Workspace,
        OutputDir = l.Output,
        ManifestPath = l.Manifest,
        Environment = env ?? [],
        JobName = "sif",
    };

    [Fact]
    public async Task The_container_sees_the_contract_and_nothing_else()
    {
        var l = MakeLayout();
        Directory.CreateDirectory(_hidden);
        const string script = """
            cat /workflow/input/raw.dat
            cat /workflow/config/manifest.json
            ls /workflow/config
            echo "out=$WORKFLOW_OUTPUT_DIR step=$STEP"
            if touch /workflow/input/new 2>/dev/null; then echo input-writable; else echo input-read-only; fi
            if touch /workflow/config/new 2>/dev/null; then echo config-writable; else echo config-read-only; fi
            echo product > "$WORKFLOW_OUTPUT_DIR/result.txt"
            mkdir -p /workflow/workspace/calibrate && echo mid > /workflow/workspace/calibrate/x
            if [ -e "$1" ]; then echo hidden-visible; else echo hidden-invisible; fi
            exit 6
            """;
        var job = SifJob(l, script.Replace("\"$1\"", ShellQuote(_hidden)), [new("STEP", "calibrate; 'quoted' $x")]);

        var id = await _backend.SubmitAsync(job, default);
        var info = await WaitAsync(_backend, id);
        var log = await _backend.GetLogsAsync(id, new LogQuery(LogStream.Output), default);

        Assert.Equal(6, info.ExitCode);
        Assert.Equal(
            "raw data\n{\"run\": 42}\nmanifest.json\nout=/workflow/output step=calibrate; 'quoted' $x\n" +
            "input-read-only\nconfig-read-only\nhidden-invisible\n", log);
        Assert.Equal("product\n", File.ReadAllText(Path.Combine(l.Output, "result.txt")));
        Assert.Equal("mid\n", File.ReadAllText(Path.Combine(l.Workspace, "calibrate", "x")));
        Assert.False(File.Exists(Path.Combine(l.Input, "new")));
    }

    [Fact]
    public async Task Words_of_the_container_command_arrive_unchanged()
    {
        var l = MakeLayout();
        const string word = "it's \"$HOME\" `id` \\ ✓";
        var job = SifJob(l, "printf '%s' \"$0\"") with
        {
            ExecutionCommand = ApptainerCommandBuilder.BuildCommandLine(_apptainer.ApptainerPath, l.Sif,
                ["sh", "-c", "printf '%s' \"$0\"", word], null, null, l.Output, null),
        };

        var id = await _backend.SubmitAsync(job, default);
        await WaitAsync(_backend, id);

        Assert.Equal(word, await _backend.GetLogsAsync(id, new LogQuery(LogStream.Output), default));
    }

    [Fact]
    public async Task Cancelling_a_container_job_ends_the_sandbox_and_its_payload()
    {
        var l = MakeLayout();
        var id = await _backend.SubmitAsync(SifJob(l, "echo up; sleep 300 & sleep 300; wait"), default);
        var state = await RunnerStateAsync(Path.Combine(_root, "jobs"), id);
        await StdoutContainsAsync(Path.Combine(_root, "jobs"), id, "up");

        await _backend.CancelAsync(id, default);

        Assert.Equal(HPCJobReason.Cancelled, (await _backend.GetStatusAsync(id, default)).Reason);
        Assert.Empty(SessionProcesses(state.JobPid));
    }

    [Fact]
    public async Task A_missing_image_is_apptainer_s_own_error_exit_255()
    {
        var l = MakeLayout();
        File.Delete(l.Sif);

        var id = await _backend.SubmitAsync(SifJob(l, "true"), default);
        var info = await WaitAsync(_backend, id);

        Assert.Equal(255, info.ExitCode);
        Assert.Contains("FATAL", await _backend.GetLogsAsync(id, new LogQuery(LogStream.Error), default));
    }

    private static string ShellQuote(string s) => Core.Execution.ShellQuoting.Quote(s);
}
