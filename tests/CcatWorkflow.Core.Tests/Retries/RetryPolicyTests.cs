using System.Collections;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Retries;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Retries;

public class RetryPolicyTests
{
    private static RetryPolicy Policy(double memCap = 256, double timeCap = 168, double mem = 1.5, double time = 2, params HPCJobReason[] on) =>
        RetryPolicy.From(on.Length == 0 ? [HPCJobReason.OutOfMemory, HPCJobReason.Timeout] : on, 3, mem, time, null, memCap, timeCap)!;

    [Fact]
    public void Memory_grows_by_the_factor_on_out_of_memory_only()
    {
        var p = Policy();
        var next = p.Next(new ResourceRequirements(2, 4, 1, null), HPCJobReason.OutOfMemory, RetryRounding.Default);
        Assert.Equal(new ResourceRequirements(2, 6, 1, null), next.Resources);
        Assert.Equal(new ResourceRequirements(2, 4, 1, null), p.Next(new ResourceRequirements(2, 4, 1, null), HPCJobReason.NodeFailure, RetryRounding.Default).Resources);
    }

    [Fact]
    public void Time_grows_by_the_factor_on_timeout_rounded_up_to_the_scheduler_step()
    {
        // Slurm takes whole minutes: 1.5 min × 2 = 3 min exactly; 1 min × 1.7 = 1.7 min → 2 min.
        var slurm = new RetryRounding(1.0 / 1024, 1.0 / 60);
        Assert.Equal(3.0 / 60, Policy().Next(new ResourceRequirements(null, null, 1.5 / 60, null), HPCJobReason.Timeout, slurm).Resources!.TimeHours!.Value, 9);
        Assert.Equal(2.0 / 60, Policy(time: 1.7).Next(new ResourceRequirements(null, null, 1.0 / 60, null), HPCJobReason.Timeout, slurm).Resources!.TimeHours!.Value, 9);
    }

    [Fact]
    public void Grown_memory_is_rounded_up_to_whole_MiB()
    {
        // 0.1 GiB = 102.4 MiB; × 1.5 = 153.6 MiB → 154 MiB.
        var next = Policy().Next(new ResourceRequirements(null, 0.1, null, null), HPCJobReason.OutOfMemory, RetryRounding.Default);
        Assert.Equal(154.0 / 1024, next.Resources!.MemoryGb!.Value, 9);
    }

    [Fact]
    public void Growth_stops_at_the_cap_and_a_request_at_the_cap_is_not_retried()
    {
        var p = Policy(memCap: 10);
        Assert.Equal(10, p.Next(new ResourceRequirements(null, 8, null, null), HPCJobReason.OutOfMemory, RetryRounding.Default).Resources!.MemoryGb);
        var atCap = p.Next(new ResourceRequirements(null, 10, null, null), HPCJobReason.OutOfMemory, RetryRounding.Default);
        Assert.Null(atCap.Resources);
        Assert.Contains("RETRY_MAX_MEMORY_GB", atCap.What);
        var overCap = Policy(timeCap: 1).Next(new ResourceRequirements(null, null, 2, null), HPCJobReason.Timeout, RetryRounding.Default);
        Assert.Null(overCap.Resources);
        Assert.Contains("RETRY_MAX_TIME_HOURS", overCap.What);
    }

    [Fact]
    public void A_growth_of_one_retries_with_the_same_request()
    {
        var next = Policy(mem: 1).Next(new ResourceRequirements(null, 4, null, null), HPCJobReason.OutOfMemory, RetryRounding.Default);
        Assert.Equal(4, next.Resources!.MemoryGb);
    }

    [Theory]
    [InlineData(1.0, 1.0 / 3600, 1.0)]
    [InlineData(0.0001, 1.0 / 3600, 1.0 / 3600)]
    [InlineData(2.5 / 60, 1.0 / 60, 3.0 / 60)]
    public void RoundUp_keeps_values_on_a_step_and_lifts_others_to_the_next(double value, double step, double expected) =>
        Assert.Equal(expected, RetryPolicy.RoundUp(value, step), 9);

    [Fact]
    public void The_hashtable_form_means_the_same_as_the_parameters()
    {
        var table = new Hashtable { ["retryon"] = new object[] { "OutOfMemory", "timeout" }, ["MaxAttempts"] = 4, ["MemoryGrowth"] = "2", ["TimeGrowth"] = 3.0 };
        var fromTable = RetryPolicy.From(null, null, null, null, table, 100, 10)!;
        var fromParameters = RetryPolicy.From([HPCJobReason.OutOfMemory, HPCJobReason.Timeout], 4, 2, 3, null, 100, 10)!;
        Assert.Equal(fromParameters.RetryOn, fromTable.RetryOn);
        Assert.Equal((4, 2.0, 3.0, 100.0, 10.0), (fromTable.MaxAttempts, fromTable.MemoryGrowth, fromTable.TimeGrowth, fromTable.MaxMemoryGb, fromTable.MaxTimeHours));
        Assert.Equal([HPCJobReason.NodeFailure, HPCJobReason.Preempted], RetryPolicy.From(null, null, null, null, new Hashtable { ["RetryOn"] = "NodeFailure, Preempted" }, 1, 1)!.RetryOn);
    }

    [Fact]
    public void No_retry_parameter_means_no_policy_and_defaults_fill_the_rest()
    {
        Assert.Null(RetryPolicy.From(null, null, null, null, null, 1, 1));
        var p = RetryPolicy.From([HPCJobReason.Preempted], null, null, null, null, 1, 1)!;
        Assert.Equal((RetryPolicy.DefaultMaxAttempts, RetryPolicy.DefaultMemoryGrowth, RetryPolicy.DefaultTimeGrowth), (p.MaxAttempts, p.MemoryGrowth, p.TimeGrowth));
    }

    public static TheoryData<HPCJobReason[]?, int?, double?, IDictionary?, string> Invalid => new()
    {
        { [HPCJobReason.Cancelled], null, null, null, "Cancelled" },
        { [HPCJobReason.WaitingForDependency], null, null, null, "WaitingForDependency" },
        { [HPCJobReason.OutOfMemory], 0, null, null, "MaxAttempts" },
        { [HPCJobReason.OutOfMemory], 21, null, null, "MaxAttempts" },
        { [HPCJobReason.OutOfMemory], null, 0.5, null, "MemoryGrowth" },
        { [HPCJobReason.OutOfMemory], null, double.NaN, null, "MemoryGrowth" },
        { [HPCJobReason.OutOfMemory], null, null, new Hashtable { ["RetryOn"] = "Timeout" }, "-RetryPolicy" },
        { null, 3, null, null, "-RetryOn" },
        { null, null, null, new Hashtable { ["RetryOn"] = "Timeout", ["Growth"] = 2 }, "Growth" },
        { null, null, null, new Hashtable { ["RetryOn"] = "OOM" }, "OOM" },
        { null, null, null, new Hashtable { ["RetryOn"] = "5" }, "'5'" },
        { null, null, null, new Hashtable { ["RetryOn"] = "Timeout", ["MaxAttempts"] = 2.5 }, "whole" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_policies_are_InvalidRetryPolicy_naming_the_value(HPCJobReason[]? on, int? attempts, double? growth, IDictionary? table, string named)
    {
        var e = Assert.Throws<CcatException>(() => RetryPolicy.From(on, attempts, growth, null, table, 10, 10));
        Assert.Equal(CcatErrorId.InvalidRetryPolicy, e.ErrorId);
        Assert.Equal(CcatErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Growing_needs_a_request_to_grow_from()
    {
        var p = Policy();
        Assert.Equal(CcatErrorId.InvalidRetryPolicy, Assert.Throws<CcatException>(() => p.Validate(new ResourceRequirements(null, null, 1, null))).ErrorId);
        Assert.Contains("time_hours", Assert.Throws<CcatException>(() => p.Validate(new ResourceRequirements(null, 1, null, null))).Message, StringComparison.Ordinal);
        Policy(mem: 1, time: 1).Validate(ResourceRequirements.None);
        Policy(on: HPCJobReason.NodeFailure).Validate(ResourceRequirements.None);
    }

    [Fact]
    public void A_plan_round_trips_through_its_json_with_the_attempt_variable_set()
    {
        var submission = new JobSubmission
        {
            ExecutionCommand = "echo hi",
            JobName = "calib",
            Resources = new ResourceRequirements(2, 4, 1, null),
            Environment = [new("MODE", "hot"), new(RetryRules.AttemptVariable, "1")],
            WorkingDirectory = "/tmp",
            Retry = Policy(),
        };
        var plan = RetryPlan.FromJson(RetryPlan.Of(submission).ToJson())!;
        var again = plan.ToSubmission(2, new ResourceRequirements(2, 6, 1, null));
        Assert.Equal("echo hi", again.ExecutionCommand);
        Assert.Equal("calib", again.JobName);
        Assert.Equal("/tmp", again.WorkingDirectory);
        Assert.Equal(6, again.Resources.MemoryGb);
        Assert.Equal([new("MODE", "hot"), new(RetryRules.AttemptVariable, "2")], again.Environment);
        Assert.Equal(submission.Retry!.RetryOn, again.Retry!.RetryOn);
        Assert.Null(RetryPlan.FromJson("{not json"));
    }

    [Fact]
    public void Secrets_are_refused_with_a_retry_policy_and_arrays_are_not()
    {
        var s = new JobSubmission { ExecutionCommand = "true", Retry = Policy(mem: 1, time: 1), SecretEnvironment = [new("TOKEN", "x")] };
        Assert.Equal(CcatErrorId.InvalidRetryPolicy, Assert.Throws<CcatException>(() => RetryRules.Check(s, HPCBackendKind.Local, true)).ErrorId);
        var a = new JobSubmission { ExecutionCommand = "true", Retry = Policy(mem: 1, time: 1), ArrayIndex = Core.Arrays.ArrayIndexSpec.Parse("0-3") };
        RetryRules.Check(a, HPCBackendKind.Slurm, true); // retried per element (docs/retries.md)
        Assert.Equal("0-3", RetryPlan.Of(a).ArrayIndex);
        Assert.Equal(CcatErrorId.NotSupportedOnBackend, Assert.Throws<CcatException>(() => RetryRules.Check(s with { SecretEnvironment = [] }, HPCBackendKind.Slurm, false)).ErrorId);
    }
}
