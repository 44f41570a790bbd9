using System.Text;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;
using static CcatWorkflow.Core.Tests.Local.LocalTestKit;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>Secret variables of Local jobs travel to the runner over a pipe and are written nowhere.</summary>
public sealed class LocalSecretsTests : IAsyncLifetime
{
    private const string SecretValue = "pa55-'w0rd' \"$HOME\" \n second line";
    private readonly string _jobRoot = TestInfra.NewTempDirectory("jobs");
    private LocalBackend _backend = null!;

    public Task InitializeAsync()
    {
        _backend = new LocalBackend(new LocalBackendOptions
        {
            Store = new LocalStoreOptions { Kind = "file", JobRoot = _jobRoot },
            CancelGrace = TimeSpan.FromSeconds(1),
            RunnerAssemblyPath = RunnerAssembly,
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _backend.DisposeAsync();
        await LocalBackendBehaviour.EndEverythingUnder(_jobRoot);
    }

    private static JobSubmission SecretJob() => Job("printf '%s' \"$DB_PASSWORD\"; printf '|%s' \"$PLAIN\"", "secret",
        env: [new("PLAIN", "visible")]) with { SecretEnvironment = [new("DB_PASSWORD", SecretValue)] };

    [Fact]
    public async Task The_job_sees_its_secret_and_no_file_of_its_folder_holds_it()
    {
        var id = await _backend.SubmitAsync(SecretJob(), CancellationToken.None);
        var info = await WaitAsync(_backend, id);
        Assert.Equal(HPCJobStatus.Completed, info.Status);
        var log = await _backend.GetLogsAsync(id, new LogQuery(), CancellationToken.None);
        Assert.Equal(SecretValue + "|visible", log);

        var jobJson = await File.ReadAllTextAsync(Path.Combine(_jobRoot, id, LocalJobDirectory.SpecFile));
        Assert.Contains("DB_PASSWORD", jobJson, StringComparison.Ordinal);
        foreach (var file in Directory.EnumerateFiles(_jobRoot, "*", SearchOption.AllDirectories)
                     .Where(f => Path.GetFileName(f) != LocalJobDirectory.StdoutFile))
        {
            // Read without .NET's lock emulation: the runner may still hold its flock on runner.lock.
            Assert.DoesNotContain("pa55", SafeFile.ReadCappedText(file, 16 << 20) ?? "", StringComparison.Ordinal);
        }
    }

    [Fact]
    public void WhatIf_names_the_secret_and_hides_its_value()
    {
        var text = _backend.DescribeSubmission(SecretJob());
        Assert.Contains("DB_PASSWORD=<secret>", text, StringComparison.Ordinal);
        Assert.Contains("export PLAIN=visible", text, StringComparison.Ordinal);
        Assert.DoesNotContain("pa55", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_channel_refuses_a_pipe_without_the_named_secrets()
    {
        using var empty = new MemoryStream();
        Assert.Throws<InvalidDataException>(() => LocalSecretChannel.Read(empty, ["DB_PASSWORD"]));
        using var other = new MemoryStream(Encoding.UTF8.GetBytes(LocalSecretChannel.Serialize([new("OTHER", "x")])));
        Assert.Throws<InvalidDataException>(() => LocalSecretChannel.Read(other, ["DB_PASSWORD"]));
        using var good = new MemoryStream(Encoding.UTF8.GetBytes(LocalSecretChannel.Serialize([new("DB_PASSWORD", SecretValue)])));
        Assert.Equal(SecretValue, Assert.Single(LocalSecretChannel.Read(good, ["DB_PASSWORD"])).Value);
    }
}
