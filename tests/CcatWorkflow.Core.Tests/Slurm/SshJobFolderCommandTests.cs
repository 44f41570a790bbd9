using System.Text;
using CliWrap;
using CliWrap.Buffered;
using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Backends.Slurm.Ssh;

namespace CcatWorkflow.Core.Tests.Slurm;

/// <summary>
/// The SSH transport's one-command submission and removal, run here by a real sh (the login
/// node runs the same text). In place of sbatch, a shell prints what sbatch would.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SshJobFolderCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"ccat ssh unit '{Guid.NewGuid():N}'");

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static async Task<BufferedCommandResult> RunShAsync(string text, byte[]? input = null) =>
        await Cli.Wrap("sh").WithArguments(["-c", text]).WithValidation(CommandResultValidation.None)
            .WithStandardInputPipe(input is null ? PipeSource.Null : PipeSource.FromBytes(input))
            .ExecuteBufferedAsync(Encoding.UTF8);

    // Stands in for sbatch: prints what the job's environment holds, then the given answer.
    private static SlurmCommandLine FakeSbatch(string answer, int exitCode, params KeyValuePair<string, string>[] secrets) =>
        new("sh", ["-c", "printf '%s\\n' \"secret=${MY_SECRET-unset}\" >&2; printf '%s' \"$1\"; exit " + exitCode, "sbatch", answer],
            new Dictionary<string, string?>()) { Secrets = secrets };

    private static readonly SlurmJobMetadata Metadata = new() { JobName = "it's a job", SubmittedAt = DateTimeOffset.UnixEpoch };

    [Fact]
    public async Task One_command_writes_the_folder_privately_runs_sbatch_with_the_secrets_and_links_the_id()
    {
        const string folderName = "20260101T000000Z-abcdef0123";
        var script = "#!/bin/sh\necho 'Grüße' \"$HOME\"\n";
        var sbatch = FakeSbatch("4711;ccat\n", 0, new KeyValuePair<string, string>("MY_SECRET", "it's\n$(id) `x`"));
        var result = await RunShAsync(SshSlurmJobFiles.SubmitText(_root, folderName, Metadata, sbatch), SshSlurmJobFiles.SubmitInput(script, sbatch));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(SshSlurmJobFiles.PreparedMarker + "\n4711;ccat\n", result.StandardOutput);
        Assert.Contains("secret=it's\n$(id) `x`\n", result.StandardError, StringComparison.Ordinal);
        var folder = Path.Combine(_root, folderName);
        Assert.Equal(script, await File.ReadAllTextAsync(Path.Combine(folder, SlurmJobDirectory.ScriptFile)));
        Assert.Equal("it's a job", SlurmJobDirectory.ParseMetadata(await File.ReadAllTextAsync(Path.Combine(folder, SlurmJobDirectory.MetadataFile)))!.JobName);
        Assert.Equal(folderName, new FileInfo(Path.Combine(_root, "4711")).LinkTarget);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        foreach (var file in new[] { SlurmJobDirectory.ScriptFile, SlurmJobDirectory.MetadataFile, SlurmJobDirectory.StdoutFile, SlurmJobDirectory.StderrFile })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, file)));
        }

        // No secret in any file.
        foreach (var file in Directory.GetFiles(folder)) Assert.DoesNotContain("$(id) `x`", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sbatch: error: Batch job submission failed: Invalid partition name specified\n", 1)]
    [InlineData("site wrapper says hello\n", 0)]
    [InlineData("4711x\n", 0)]
    public async Task A_refused_submission_or_one_without_an_id_leaves_no_folder_and_no_link(string answer, int exitCode)
    {
        const string folderName = "20260101T000000Z-0000000001";
        var sbatch = FakeSbatch(answer, exitCode);
        var result = await RunShAsync(SshSlurmJobFiles.SubmitText(_root, folderName, Metadata, sbatch), SshSlurmJobFiles.SubmitInput("#!/bin/sh\n", sbatch));

        Assert.Equal(exitCode, result.ExitCode);
        Assert.StartsWith(SshSlurmJobFiles.PreparedMarker + "\n", result.StandardOutput, StringComparison.Ordinal);
        // The C# reading of the same output agrees: no id.
        Assert.Null(SlurmJobId.ParseSbatchOutput(result.StandardOutput[(SshSlurmJobFiles.PreparedMarker.Length + 1)..]));
        Assert.Empty(Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public async Task A_folder_that_cannot_be_written_is_reported_before_sbatch_runs()
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "20260101T000000Z-0000000002"), "in the way");
        var sbatch = new SlurmCommandLine("sh", ["-c", "echo ran > \"$0\"", Path.Combine(_root, "sbatch-ran")], new Dictionary<string, string?>());
        var result = await RunShAsync(SshSlurmJobFiles.SubmitText(_root, "20260101T000000Z-0000000002", Metadata, sbatch), SshSlurmJobFiles.SubmitInput("#!/bin/sh\n", sbatch));

        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain(SshSlurmJobFiles.PreparedMarker, result.StandardOutput, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_root, "sbatch-ran")));
    }

    private string OurFolder(string name, bool tagged = true)
    {
        var path = Path.Combine(_root, name);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, SlurmJobDirectory.MetadataFile), tagged ? SlurmJobDirectory.SerializeMetadata(Metadata) : "{ \"jobName\": \"x\" }");
        File.WriteAllText(Path.Combine(path, SlurmJobDirectory.StdoutFile), "log");
        return path;
    }

    [Fact]
    public async Task Removal_deletes_only_tagged_folders_of_ours_directly_under_the_root_and_follows_no_link()
    {
        Directory.CreateDirectory(_root);
        var ours = OurFolder("20260101T000000Z-000000000a");
        File.CreateSymbolicLink(Path.Combine(_root, "101"), "20260101T000000Z-000000000a");

        OurFolder("20260101T000000Z-000000000b", tagged: false);
        File.CreateSymbolicLink(Path.Combine(_root, "102"), "20260101T000000Z-000000000b");

        // A folder name of ours that is itself a link to a tagged folder elsewhere: never followed.
        var elsewhere = Path.Combine(_root + "-elsewhere", "20260101T000000Z-000000000c");
        Directory.CreateDirectory(elsewhere);
        File.WriteAllText(Path.Combine(elsewhere, SlurmJobDirectory.MetadataFile), SlurmJobDirectory.SerializeMetadata(Metadata));
        File.CreateSymbolicLink(Path.Combine(_root, "20260101T000000Z-000000000c"), elsewhere);
        File.CreateSymbolicLink(Path.Combine(_root, "103"), "20260101T000000Z-000000000c");

        // A link to a tagged folder outside the root (absolute target).
        File.CreateSymbolicLink(Path.Combine(_root, "104"), elsewhere);

        // A link to something that is not one of our folder names.
        Directory.CreateDirectory(Path.Combine(_root, "not-ours"));
        File.CreateSymbolicLink(Path.Combine(_root, "105"), "not-ours");

        try
        {
            var result = await RunShAsync(SshSlurmJobFiles.RemoveText(_root, ["101", "102", "103", "104", "105", "106"]));
            Assert.Equal(0, result.ExitCode);
            var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1]);
            Assert.Equal("removed", lines["101"]);
            Assert.Equal("notours", lines["102"]);
            Assert.Equal("notours", lines["103"]);
            Assert.Equal("notours", lines["104"]);
            Assert.Equal("notfound", lines["105"]);
            Assert.Equal("notfound", lines["106"]);

            Assert.False(Directory.Exists(ours));
            Assert.False(File.Exists(Path.Combine(_root, "101")) || Directory.Exists(Path.Combine(_root, "101")));
            Assert.True(File.Exists(Path.Combine(_root, "20260101T000000Z-000000000b", SlurmJobDirectory.MetadataFile)));
            Assert.True(File.Exists(Path.Combine(elsewhere, SlurmJobDirectory.MetadataFile)));
            Assert.True(Directory.Exists(Path.Combine(_root, "not-ours")));
        }
        finally
        {
            Directory.Delete(_root + "-elsewhere", recursive: true);
        }
    }

    [Fact]
    public async Task Removal_of_a_job_directory_that_does_not_exist_finds_nothing()
    {
        var result = await RunShAsync(SshSlurmJobFiles.RemoveText(_root, ["7"]));
        Assert.Equal("7\tnotfound\t\t\n", result.StandardOutput);
    }

    [Fact]
    public async Task Finding_folders_reads_every_links_job_json_in_the_same_command()
    {
        Directory.CreateDirectory(_root);
        foreach (var (id, name, jobName) in new[] { ("201", "20260101T000000Z-00000000a1", "a: 'first' 🚀"), ("202", "20260101T000000Z-00000000a2", "second\nline") })
        {
            Directory.CreateDirectory(Path.Combine(_root, name));
            File.WriteAllText(Path.Combine(_root, name, SlurmJobDirectory.MetadataFile), SlurmJobDirectory.SerializeMetadata(Metadata with { JobName = jobName }));
            File.CreateSymbolicLink(Path.Combine(_root, id), name);
        }

        // Two ids for one folder: its job.json is read once. A folder without job.json: found, no text.
        File.CreateSymbolicLink(Path.Combine(_root, "203"), "20260101T000000Z-00000000a2");
        Directory.CreateDirectory(Path.Combine(_root, "20260101T000000Z-00000000a4"));
        File.CreateSymbolicLink(Path.Combine(_root, "204"), "20260101T000000Z-00000000a4");

        var result = await RunShAsync(SshSlurmJobFiles.FindText(_root, ["201", "202", "203", "204", "299"]));
        var (links, metadata) = SshSlurmJobFiles.ParseFind(result.StandardOutput);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["201", "202", "203", "204"], links.Select(l => l.Id));
        Assert.Equal("20260101T000000Z-00000000a2", links.Single(l => l.Id == "203").Target);
        Assert.Equal(2, metadata.Count);
        Assert.Equal("a: 'first' 🚀", SlurmJobDirectory.ParseMetadata(metadata["20260101T000000Z-00000000a1/" + SlurmJobDirectory.MetadataFile])!.JobName);
        Assert.Equal("second\nline", SlurmJobDirectory.ParseMetadata(metadata["20260101T000000Z-00000000a2/" + SlurmJobDirectory.MetadataFile])!.JobName);
    }

    [Fact]
    public async Task Finding_folders_in_a_job_directory_that_does_not_exist_finds_nothing()
    {
        var result = await RunShAsync(SshSlurmJobFiles.FindText(_root, ["7"]));
        var (links, metadata) = SshSlurmJobFiles.ParseFind(result.StandardOutput);
        Assert.Empty(links);
        Assert.Empty(metadata);
    }
}
