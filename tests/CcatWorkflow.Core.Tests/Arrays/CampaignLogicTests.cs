using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Backends.Local;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Arrays;

/// <summary>The pure rules of arrays, dependencies and re-runs that every backend shares.</summary>
public class CampaignLogicTests
{
    private static HPCJobInfo Job(string id, HPCJobStatus status, HPCJobReason reason = HPCJobReason.None, string? array = null, int? index = null) =>
        new(id, HPCBackendKind.Local, status, "j", reason: reason, arrayJobId: array, arrayIndex: index);

    [Theory]
    [InlineData(DependencyCondition.AfterOk, HPCJobStatus.Completed, HPCJobStatus.Completed, DependencyVerdict.Met)]
    [InlineData(DependencyCondition.AfterOk, HPCJobStatus.Completed, HPCJobStatus.Running, DependencyVerdict.Waiting)]
    [InlineData(DependencyCondition.AfterOk, HPCJobStatus.Failed, HPCJobStatus.Running, DependencyVerdict.NeverSatisfied)]
    [InlineData(DependencyCondition.AfterNotOk, HPCJobStatus.Failed, HPCJobStatus.Failed, DependencyVerdict.Met)]
    [InlineData(DependencyCondition.AfterNotOk, HPCJobStatus.Completed, HPCJobStatus.Pending, DependencyVerdict.NeverSatisfied)]
    [InlineData(DependencyCondition.AfterAny, HPCJobStatus.Failed, HPCJobStatus.Completed, DependencyVerdict.Met)]
    [InlineData(DependencyCondition.AfterAny, HPCJobStatus.Failed, HPCJobStatus.Pending, DependencyVerdict.Waiting)]
    public void A_dependency_is_met_never_satisfied_or_waiting_from_its_parents_outcomes(DependencyCondition condition, HPCJobStatus a, HPCJobStatus b, DependencyVerdict expected)
    {
        var dependency = new JobDependency(["a", "b"], condition);
        Assert.Equal(expected, dependency.Evaluate([Job("a", a), Job("b", b)]));
    }

    [Theory]
    [InlineData(new[] { 1, 3, 5, 6, 7, 8, 9 }, "1,3,5-9")]
    [InlineData(new[] { 9, 1, 1, 2 }, "1-2,9")]
    [InlineData(new[] { 4 }, "4")]
    public void The_indices_of_a_rerun_are_written_as_a_compact_spec_of_exactly_those_indices(int[] indices, string text)
    {
        var spec = ArrayIndexSpec.Of(indices);
        Assert.Equal(text, spec.Text);
        Assert.Equal(indices.Distinct().Order(), spec.Indices);
    }

    [Fact]
    public void A_pending_array_whose_unfinished_elements_all_wait_for_parents_reads_WaitingForDependency()
    {
        var summary = ArrayStatus.Aggregate("a", HPCBackendKind.Local, [
            Job("a_0", HPCJobStatus.Pending, HPCJobReason.WaitingForDependency, "a", 0),
            Job("a_1", HPCJobStatus.Failed, HPCJobReason.Cancelled, "a", 1)]);
        Assert.Equal(HPCJobStatus.Pending, summary.Status);
        Assert.Equal(HPCJobReason.WaitingForDependency, summary.Reason);
        Assert.Equal(HPCBackendKind.Local, summary.Backend);
    }

    [Fact]
    public void An_element_runs_the_arrays_command_with_its_own_id_index_and_folder()
    {
        var array = new LocalJobSpec
        {
            Id = "0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90", Name = "n", Command = "echo $CCAT_ARRAY_INDEX",
            Environment = [new LocalEnvironmentVariable("A", "1"), new LocalEnvironmentVariable(ArrayElementId.IndexVariable, "stale")],
            WorkingDirectory = "/jobs/0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90", SubmittedAt = DateTimeOffset.UnixEpoch, SubmitHost = "h",
            ArrayIndex = "0-9", ThrottleLimit = 2, DependsOn = ["p"], DependencyCondition = "AfterOk",
        };
        var element = LocalArrayFiles.ElementSpec(array, array.WorkingDirectory, "/jobs/x_7", 7);
        Assert.Equal("0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90_7", element.Id);
        Assert.Equal("/jobs/x_7", element.WorkingDirectory);
        Assert.Equal(["A=1", "CCAT_ARRAY_INDEX=7"], element.Environment.Select(v => $"{v.Name}={v.Value}"));
        Assert.Null(element.ArrayIndex);
        Assert.Null(element.DependsOn);
        Assert.Equal(array.Id, element.ArrayJobId);
        Assert.Equal(7, element.ArrayTaskIndex);
        Assert.Equal("/given", LocalArrayFiles.ElementSpec(array with { WorkingDirectory = "/given" }, array.WorkingDirectory, "/jobs/x_7", 7).WorkingDirectory);
    }

    [Theory]
    [InlineData("0F8C6A1E-2B7D-4C1A-9E53-6D2F1A7B8C90_007", "0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90_7")]
    [InlineData("0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90", "0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90")]
    [InlineData("nope_3", null)]
    [InlineData("0f8c6a1e-2b7d-4c1a-9e53-6d2f1a7b8c90_", null)]
    public void Local_ids_are_uuids_or_uuid_underscore_index(string given, string? canonical) =>
        Assert.Equal(canonical, LocalBackend.Canonical(given));

    [Fact]
    public void A_rerun_takes_the_originals_command_resources_and_name_over_the_failed_indices_only()
    {
        var failed = new HPCJobInfo("a_3", HPCBackendKind.Slurm, HPCJobStatus.Failed, "scan", arrayJobId: "a", arrayIndex: 3)
            .WithSubmission(4, 16, 2, null, "reduce $CCAT_ARRAY_INDEX", null);
        var plan = new FailedElements("a", [failed, new HPCJobInfo("a_5", HPCBackendKind.Slurm, HPCJobStatus.Failed, "scan", arrayJobId: "a", arrayIndex: 5)]);
        var given = new JobSubmission { ExecutionCommand = "", JobName = "ccat-job" };
        var rerun = plan.Resubmission(given, resourcesGiven: false, nameGiven: false);
        Assert.Equal("reduce $CCAT_ARRAY_INDEX", rerun.ExecutionCommand);
        Assert.Equal(new ResourceRequirements(4, 16, 2, null), rerun.Resources);
        Assert.Equal("scan", rerun.JobName);
        Assert.Equal("3,5", rerun.ArrayIndex!.Text);
        Assert.Equal("a", rerun.RetryOf);

        var overridden = plan.Resubmission(given with { ExecutionCommand = "fixed", JobName = "again", Resources = new ResourceRequirements(8, null, null, null) }, true, true);
        Assert.Equal("fixed", overridden.ExecutionCommand);
        Assert.Equal(8, overridden.Resources.Cpu);
        Assert.Equal("again", overridden.JobName);
    }

    [Fact]
    public void A_rerun_without_a_known_command_asks_for_one()
    {
        var plan = new FailedElements("a", [new HPCJobInfo("a_1", HPCBackendKind.Local, HPCJobStatus.Failed, arrayJobId: "a", arrayIndex: 1)]);
        var e = Assert.Throws<CcatException>(() => plan.Resubmission(new JobSubmission { ExecutionCommand = "" }, false, false));
        Assert.Equal(CcatErrorId.InvalidSubmission, e.ErrorId);
        Assert.Contains("-ExecutionCommand", e.Message, StringComparison.Ordinal);
    }
}
