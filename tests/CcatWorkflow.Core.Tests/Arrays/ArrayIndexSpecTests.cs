using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Arrays;

public class ArrayIndexSpecTests
{
    [Theory]
    [InlineData("0-9", "0-9", new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 })]
    [InlineData("1,3,5-9", "1,3,5-9", new[] { 1, 3, 5, 6, 7, 8, 9 })]
    [InlineData("0-9:2", "0-9:2", new[] { 0, 2, 4, 6, 8 })]
    [InlineData(" 7 ", "7", new[] { 7 })]
    [InlineData("5,1-3,2", "5,1-3,2", new[] { 1, 2, 3, 5 })]
    [InlineData("007,0010-0011", "7,10-11", new[] { 7, 10, 11 })]
    [InlineData("4-4:3", "4-4:3", new[] { 4 })]
    public void Parses_slurm_syntax_into_sorted_distinct_indices(string spec, string text, int[] indices)
    {
        var parsed = ArrayIndexSpec.Parse(spec);
        Assert.Equal(text, parsed.Text);
        Assert.Equal(indices, parsed.Indices);
    }

    [Fact]
    public void A_500_element_range_has_500_indices()
    {
        var parsed = ArrayIndexSpec.Parse("0-499");
        Assert.Equal(500, parsed.Indices.Count);
        Assert.Equal(499, parsed.Indices[^1]);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("1,,2", "empty item")]
    [InlineData("a-b", "is not an index")]
    [InlineData("-3", "is not an index")]
    [InlineData("1.5", "is not an index")]
    [InlineData("9-1", "ends before it starts")]
    [InlineData("0-9:0", "below 1")]
    [InlineData("5:2", "has a step but no range")]
    [InlineData("0-99%4", "-ThrottleLimit")]
    [InlineData("4000001", "largest index")]
    [InlineData("99999999999", "largest index")]
    [InlineData("0-10000", "more than 10000 elements")]
    public void Refuses_bad_specs_with_InvalidArraySpec_naming_the_problem(string spec, string why)
    {
        var ex = Assert.Throws<CcatException>(() => ArrayIndexSpec.Parse(spec));
        Assert.Equal(CcatErrorId.InvalidArraySpec, ex.ErrorId);
        Assert.Contains(why, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Throttle_needs_an_array_and_must_be_positive()
    {
        ArrayIndexSpec.ValidateThrottle(null, null);
        ArrayIndexSpec.ValidateThrottle(3, ArrayIndexSpec.Parse("0-9"));
        Assert.Equal(CcatErrorId.InvalidArraySpec, Assert.Throws<CcatException>(() => ArrayIndexSpec.ValidateThrottle(2, null)).ErrorId);
        Assert.Equal(CcatErrorId.InvalidArraySpec, Assert.Throws<CcatException>(() => ArrayIndexSpec.ValidateThrottle(0, ArrayIndexSpec.Parse("0-9"))).ErrorId);
    }

    [Theory]
    [InlineData("123_7", true, "123", 7)]
    [InlineData("calib-x7k2p_12", true, "calib-x7k2p", 12)]
    [InlineData("123", false, "", -1)]
    [InlineData("123_", false, "", -1)]
    [InlineData("_4", false, "", -1)]
    [InlineData("123_x", false, "", -1)]
    [InlineData("123+0", false, "", -1)]
    public void Element_ids_split_at_the_last_underscore(string id, bool ok, string array, int index)
    {
        Assert.Equal(ok, ArrayElementId.TryParse(id, out var a, out var i));
        Assert.Equal((array, index), (a, i));
        if (ok) Assert.Equal(id, ArrayElementId.Format(a, i));
    }

    [Fact]
    public void A_finished_parent_meets_or_never_meets_each_condition()
    {
        var ok = new HPCJobInfo("1", HPCBackendKind.Slurm, HPCJobStatus.Completed);
        var failed = new HPCJobInfo("2", HPCBackendKind.Slurm, HPCJobStatus.Failed);
        Assert.True(new JobDependency(["1"], DependencyCondition.AfterOk).IsMetBy(ok));
        Assert.False(new JobDependency(["2"], DependencyCondition.AfterOk).IsMetBy(failed));
        Assert.True(new JobDependency(["2"], DependencyCondition.AfterNotOk).IsMetBy(failed));
        Assert.False(new JobDependency(["1"], DependencyCondition.AfterNotOk).IsMetBy(ok));
        Assert.True(new JobDependency(["1"], DependencyCondition.AfterAny).IsMetBy(ok));
        Assert.True(new JobDependency(["2"], DependencyCondition.AfterAny).IsMetBy(failed));
    }
}
