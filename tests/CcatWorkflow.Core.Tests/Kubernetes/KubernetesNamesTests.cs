using CcatWorkflow.Core.Backends.Kubernetes;

namespace CcatWorkflow.Core.Tests.Kubernetes;

public class KubernetesNamesTests
{
    [Theory]
    [InlineData("calibrate", "calibrate-bcdfg")]
    [InlineData("Calibrate Step #3 (CO/13CO)", "calibrate-step-3-co-13co-bcdfg")]
    [InlineData("---weird___", "weird-bcdfg")]
    [InlineData("ÄÖÜ", "job-bcdfg")]
    [InlineData("123", "123-bcdfg")]
    public void A_job_id_is_the_name_made_into_an_RFC_1123_label_plus_a_suffix(string name, string expected)
    {
        var id = KubernetesNames.NewJobId(name, "bcdfg");
        Assert.Equal(expected, id);
        Assert.True(KubernetesNames.IsValidJobId(id));
    }

    [Fact]
    public void A_long_name_is_cut_to_leave_room_for_the_suffix_within_63_characters()
    {
        var id = KubernetesNames.NewJobId(new string('a', 40) + " " + new string('b', 40));
        Assert.Equal(63, id.Length);
        Assert.True(KubernetesNames.IsValidJobId(id));
        Assert.DoesNotContain("--", id);
    }

    [Fact]
    public void A_cut_never_leaves_a_dash_before_the_suffix()
    {
        var id = KubernetesNames.NewJobId(new string('a', 56) + "-bbbb", "xyzwv");
        Assert.Equal(new string('a', 56) + "-xyzwv", id);
    }

    [Fact]
    public void Ids_are_unique_per_submission()
    {
        var ids = Enumerable.Range(0, 500).Select(_ => KubernetesNames.NewJobId("same")).ToHashSet();
        Assert.True(ids.Count >= 499);
        Assert.All(ids, id => Assert.Matches("^same-[bcdfghjklmnpqrstvwxz2456789]{5}$", id));
    }

    [Theory]
    [InlineData("My Job: (v2)", "My-Job---v2")]
    [InlineData("_hidden_", "hidden")]
    [InlineData("ok.name_1", "ok.name_1")]
    public void A_job_name_becomes_a_valid_label_value(string name, string expected)
    {
        var v = KubernetesNames.ToLabelValue(name);
        Assert.Equal(expected, v);
        Assert.True(KubernetesNames.IsValidLabelValue(v));
    }

    [Fact]
    public void A_label_value_is_at_most_63_characters()
    {
        var v = KubernetesNames.ToLabelValue(new string('x', 100));
        Assert.Equal(63, v.Length);
    }

    [Theory]
    [InlineData("abc-12345", true)]
    [InlineData("ABC", false)]
    [InlineData("-abc", false)]
    [InlineData("abc-", false)]
    [InlineData("a.b", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Job_ids_are_checked_before_any_call(string? id, bool valid) =>
        Assert.Equal(valid, KubernetesNames.IsValidJobId(id));

    [Fact]
    public void The_log_record_name_can_never_be_a_job_id() =>
        Assert.False(KubernetesNames.IsValidJobId(KubernetesNames.LogConfigMapName("abc-bcdfg")));
}
