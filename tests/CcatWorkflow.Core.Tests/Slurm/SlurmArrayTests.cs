using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Backends.Slurm;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Slurm;

public class SlurmArrayTests
{
    private static readonly SlurmOptions Options = SlurmOptions.Normalized(new SlurmOptions { JobDirectory = "/shared/ccat/.ccat-slurm" });
    private const string Folder = "/shared/ccat/.ccat-slurm/20261126T010000Z-0123456789";

    private static List<string> DirectiveLines(string script) =>
        script.Split('\n').Where(l => l.StartsWith("#SBATCH ", StringComparison.Ordinal)).Select(l => l["#SBATCH ".Length..]).ToList();

    [Theory]
    [InlineData("123_[8-99]", 92, "123_8", "123_99")]
    [InlineData("123_[1,3-5%2]", 4, "123_1", "123_5")]
    [InlineData("160_[0-9%2]", 10, "160_0", "160_9")]
    [InlineData("123_7", 1, "123_7", "123_7")]
    [InlineData("123", 1, "123", "123")]
    public void Compressed_rows_expand_to_one_id_per_element(string id, int count, string first, string last)
    {
        var ids = SlurmArrayIds.Expand(id);
        Assert.Equal(count, ids.Count);
        Assert.Equal(first, ids[0]);
        Assert.Equal(last, ids[^1]);
    }

    [Fact]
    public void An_unreadable_compressed_row_is_skipped_not_guessed() =>
        Assert.Empty(SlurmArrayIds.Expand("123_[1-2,x]"));

    [Fact]
    public void Elements_are_asked_for_through_their_array_id()
    {
        var ids = Enumerable.Range(0, 500).Select(i => $"123_{i}").Append("99").Append("123").ToList();
        Assert.Equal(["123", "99"], SlurmArrayIds.QueryIds(ids));
    }

    [Fact]
    public void Sacct_pending_array_rows_become_one_pending_row_per_element_without_the_raw_id()
    {
        var jobs = SacctParser.Parse(RecordedOutput.Read("sacct-array-pending.txt")).ToDictionary(j => j.JobId);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"160_{i}"), jobs.Keys.Where(k => k.StartsWith("160_", StringComparison.Ordinal)));
        Assert.Equal(["161_1", "161_3", "161_4", "161_5"], jobs.Keys.Where(k => k.StartsWith("161_", StringComparison.Ordinal)));
        Assert.All(jobs.Values.Where(j => j.JobId.Contains('_')), j =>
        {
            Assert.Equal("PENDING", j.State);
            Assert.Null(j.JobIdRaw);
        });
    }

    [Fact]
    public void A_started_tasks_row_under_the_compressed_id_says_nothing_of_the_unstarted_elements()
    {
        // Seen while an array ends: the record of the task whose raw id is the array id (here
        // task 3, exit 1) still printed under the array's own id for a moment. It must not make
        // the elements without rows of their own Failed with exit 1: they are pending.
        const string Output = "7_[0-2]|7|FAILED|1:0|1796659514|1796659515|1796659516|1|00:00:00|1||1|None|/w|j|\n";
        var jobs = SacctParser.Parse(Output).ToDictionary(j => j.JobId);
        Assert.Equal(["7_0", "7_1", "7_2"], jobs.Keys.Order());
        Assert.All(jobs.Values, j =>
        {
            Assert.Equal("PENDING", j.State);
            Assert.Null(j.ExitCode);
            Assert.Null(j.Start);
        });
    }

    [Fact]
    public void An_array_cancelled_before_its_elements_started_stays_cancelled_for_each()
    {
        const string Output = "7_[0-2]|7|CANCELLED by 0|0:0|1796659514|Unknown|1796659516|0|00:00:00|0||1|None|/w|j|\n";
        var jobs = SacctParser.Parse(Output);
        Assert.Equal(3, jobs.Count);
        Assert.All(jobs, j => Assert.StartsWith("CANCELLED", j.State, StringComparison.Ordinal));
    }

    [Fact]
    public void An_element_with_its_own_sacct_row_keeps_it()
    {
        const string Output = "7_[2-3]|7|PENDING|0:0|1796659514|Unknown|Unknown|0|00:00:00|0||1|None|/w|j|\n"
                              + "7_2|8|RUNNING|0:0|1796659514|1796659515|Unknown|1|00:00:00|1||1|None|/w|j|\n";
        var jobs = SacctParser.Parse(Output).ToDictionary(j => j.JobId);
        Assert.Equal("RUNNING", jobs["7_2"].State);
        Assert.Equal("PENDING", jobs["7_3"].State);
        Assert.Equal(2, jobs.Count);
    }

    [Fact]
    public void Squeue_compressed_pending_rows_are_expanded_too()
    {
        var rows = SqueueParser.Parse(RecordedOutput.Read("squeue-array-compressed.txt")).ToDictionary(r => r.JobId);
        Assert.Equal(["142_0", "142_1", "142_2", "142_3", "142_4", "142_5", "142_6", "142_7", "142_8", "142_9"], rows.Keys.Where(k => k.StartsWith("142_", StringComparison.Ordinal)).Order(StringComparer.Ordinal).OrderBy(k => k.Length));
        Assert.Equal("JobArrayTaskLimit", rows["142_9"].Reason);
        Assert.Equal("RUNNING", rows["142_0"].State);
        Assert.Equal(["143_1", "143_3", "143_4", "143_5"], rows.Keys.Where(k => k.StartsWith("143_", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_array_is_one_array_directive_with_its_throttle_and_per_element_logs()
    {
        var submission = new JobSubmission { ExecutionCommand = "run $CCAT_ARRAY_INDEX", ArrayIndex = ArrayIndexSpec.Parse("0-99:2"), ThrottleLimit = 4 };
        var script = SbatchScriptBuilder.Build(submission, Options, Folder);
        var lines = DirectiveLines(script);
        Assert.Contains("--array=0-99:2%4", lines);
        Assert.Contains($"--output={Folder}/stdout_%a.log", lines);
        Assert.Contains($"--error={Folder}/stderr_%a.log", lines);
        Assert.Contains("export CCAT_ARRAY_INDEX=\"$SLURM_ARRAY_TASK_ID\"\n", script, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, l => l.StartsWith("--dependency", StringComparison.Ordinal));
    }

    [Fact]
    public void A_single_job_has_no_array_lines()
    {
        var script = SbatchScriptBuilder.Build(new JobSubmission { ExecutionCommand = "true" }, Options, Folder);
        Assert.DoesNotContain("--array", script, StringComparison.Ordinal);
        Assert.DoesNotContain("CCAT_ARRAY_INDEX", script, StringComparison.Ordinal);
        Assert.Contains($"--output={Folder}/stdout.log", DirectiveLines(script));
    }

    [Theory]
    [InlineData(DependencyCondition.AfterOk, "--dependency=afterok:12:13_4")]
    [InlineData(DependencyCondition.AfterAny, "--dependency=afterany:12:13_4")]
    [InlineData(DependencyCondition.AfterNotOk, "--dependency=afternotok:12:13_4")]
    public void A_dependency_is_native_and_killed_when_it_can_never_be_met(DependencyCondition condition, string expected)
    {
        var submission = new JobSubmission { ExecutionCommand = "true", Dependency = new JobDependency(["12", "13_4"], condition) };
        var lines = DirectiveLines(SbatchScriptBuilder.Build(submission, Options, Folder));
        Assert.Contains(expected, lines);
        Assert.Contains("--kill-on-invalid-dep=yes", lines);
    }

    [Fact]
    public void Sbatch_environment_cannot_override_the_array()
    {
        var env = SlurmCommands.SubmitEnvironment(["--array=0-3"]);
        Assert.True(env.ContainsKey("SBATCH_ARRAY_INX"));
        Assert.Null(env["SBATCH_ARRAY_INX"]);
    }

    [Fact]
    public void An_element_lives_in_its_arrays_folder_with_its_own_logs()
    {
        var root = Directory.CreateTempSubdirectory("ccat-slurm-arrays-").FullName;
        try
        {
            var dir = new SlurmJobDirectory(root);
            var name = SlurmJobDirectory.NewFolderName(DateTimeOffset.UtcNow);
            dir.Prepare(name, "#!/bin/sh\n", new SlurmJobMetadata { ArrayIndex = "0-9" });
            dir.Link("55", name);
            var element = dir.Find("55_7")!;
            Assert.Equal(7, element.ArrayIndex);
            Assert.Equal("55_7", element.JobId);
            Assert.Equal(Path.Combine(root, name, "stdout_7.log"), element.StdoutPath);
            Assert.Equal(Path.Combine(root, name, "stderr_7.log"), element.StderrPath);
            Assert.Null(dir.Find("56_7"));
            Assert.Equal("0-9", SlurmJobDirectory.ReadMetadata(dir.Find("55")!)!.ArrayIndex);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
