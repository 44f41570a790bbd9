using System.Text.Json.Nodes;
using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Submission;
using k8s;
using k8s.Models;
using YamlDotNet.Serialization;

namespace CcatWorkflow.Core.Tests.Kubernetes;

/// <summary>The -WhatIf YAML reads back as the same values, whatever the strings hold.</summary>
public class ManifestYamlTests
{
    // Strings a careless YAML writer leaves plain and a reader then takes for something else.
    private static readonly string[] HostileValues =
    [
        "0x1F", "0o17", "017", ".inf", "-.inf", ".NaN", "1e3", "12", "-1", "+1", "1_000", "2026-01-01", "2026-01-01T03:04:05Z",
        "yes", "No", "ON", "off", "y", "n", "true", "False", "null", "Null", "~", "", " ", " lead", "trail ",
        "a: b", "a #b", "#c", "- x", "? q", "*alias", "&anchor", "!tag", "%dir", "@at", "`bt", "|", ">", "'q'", "\"dq\"",
        "{a}", "[a]", "a,b", "cr\rhere", "lf\nhere", "crlf\r\n", "tab\there", "nul\0byte", "bell\u0007", "esc\u001b[0m",
        "del\u007f", "c1\u0085x", "ls\u2028ps\u2029", "bom\uFEFF", "back\\slash", "üñí©ødé", "emoji 🚀", "=", "<<", "/", "//x", "/a b",
    ];

    public static TheoryData<string> Hostile => new(HostileValues);

    private static JobSubmission Submission(string value) => new()
    {
        ExecutionCommand = "echo " + value,
        JobName = "yaml " + value.Length,
        Environment = [new("V", value), new("W", value + value)],
    };

    private static readonly KubernetesOptions Options = new() { Namespace = "ccat-test", RunnerImage = "ghcr.io/apptainer/apptainer:1.3.6" };

    // KubernetesYaml's reader (YamlDotNet's merging parser) takes any "<<" scalar, quoted or not,
    // for a merge key; YAML itself and kubectl's reader do not. The untyped test covers "<<".
    public static TheoryData<string> HostileForTypedReader
    {
        get => new(HostileValues.Where(v => v != "<<"));
    }

    [Theory]
    [MemberData(nameof(HostileForTypedReader))]
    public void A_job_with_a_hostile_value_round_trips_through_a_typed_reader(string value)
    {
        var job = KubernetesJobSpecBuilder.BuildJob(Submission(value), Options, "yaml-bcdfg");
        var yaml = ManifestYaml.Serialize(job);
        var back = KubernetesYaml.Deserialize<V1Job>(yaml);
        Assert.Equal(KubernetesJson.Serialize(job), KubernetesJson.Serialize(back));
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void A_hostile_value_reads_back_as_the_same_string_under_implicit_typing(string value)
    {
        // A reader that types plain scalars (int, float, bool, null) as kubectl's does.
        var yaml = ManifestYaml.Serialize(new V1ConfigMap { ApiVersion = "v1", Kind = "ConfigMap", Metadata = new V1ObjectMeta { Name = "x" }, Data = new Dictionary<string, string> { ["k"] = value } });
        var reader = new DeserializerBuilder().WithAttemptingUnquotedStringTypeDeserialization().Build();
        var doc = reader.Deserialize<Dictionary<object, object>>(yaml);
        var data = (Dictionary<object, object>)doc["data"];
        Assert.Equal(value, Assert.IsType<string>(data["k"]));
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("on")]
    [InlineData("2026-01-01")]
    [InlineData("0x1F")]
    [InlineData(".inf")]
    [InlineData("~")]
    [InlineData("")]
    public void YAML_1_1_lookalikes_are_quoted(string value) =>
        Assert.StartsWith("\"", ManifestYaml.Scalar(value), StringComparison.Ordinal);

    [Theory]
    [InlineData("batch/v1")]
    [InlineData("/bin/sh")]
    [InlineData("app.kubernetes.io/managed-by")]
    [InlineData("Never")]
    public void Plain_words_stay_plain(string value) => Assert.Equal(value, ManifestYaml.Scalar(value));

    [Fact]
    public void Every_records_submittedAt_is_quoted()
    {
        var record = KubernetesJobSpecBuilder.BuildRecord(Submission("x"), Options, "yaml-bcdfg", DateTimeOffset.Parse("2026-01-02T03:04:05Z", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("submittedAt: \"2026-01-02T03:04:05.000Z\"\n", ManifestYaml.Serialize(record), StringComparison.Ordinal);
    }

    [Fact]
    public void The_whole_what_if_text_is_three_documents_that_read_back()
    {
        var s = Submission("0x1F") with { SecretEnvironment = [new("S", "hidden")] };
        var job = KubernetesJobSpecBuilder.BuildJob(s, Options, "yaml-bcdfg");
        var text = KubernetesJobSpecBuilder.Render(job, KubernetesJobSpecBuilder.BuildRecord(s, Options, "yaml-bcdfg", DateTimeOffset.UnixEpoch),
            KubernetesJobSpecBuilder.BuildSecret(s, Options, "yaml-bcdfg"));
        var docs = text.Split("\n---\n");
        Assert.Equal(3, docs.Length);
        Assert.Equal(KubernetesJson.Serialize(job), KubernetesJson.Serialize(KubernetesYaml.Deserialize<V1Job>(docs[0])));
        var secret = KubernetesYaml.Deserialize<V1Secret>(docs[2]);
        Assert.Equal("<secret>", secret.StringData["S"]);
        Assert.DoesNotContain("hidden", text, StringComparison.Ordinal);
    }
}
