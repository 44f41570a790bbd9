using System.Text;
using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace CcatWorkflow.Core.Tests.Kubernetes;

/// <summary>
/// Secret variables on Kubernetes: a Secret owned by the Job, referenced by secretKeyRef; the
/// Job manifest, the record and -WhatIf hold no value. Also pins the double's Secrets as the
/// real API behaves (stringData merged into data and never returned, key validation, GC by owner).
/// </summary>
public class KubernetesSecretsTests(KubeDoubleFixture fx) : IClassFixture<KubeDoubleFixture>
{
    private const string Run = KubeDoubleFixture.RunNamespace;
    private const string SecretValue = "pa55 'w0rd' \"$HOME\"\nline two";
    private static readonly CancellationToken None = CancellationToken.None;

    private static JobSubmission Job(string command) => new()
    {
        ExecutionCommand = command,
        JobName = "k8s secret",
        Environment = [new("PLAIN", "visible")],
        SecretEnvironment = [new("DB_PASSWORD", SecretValue), new("my secret!", "odd-name")],
    };

    [Fact]
    public async Task The_job_sees_its_secrets_through_a_Secret_and_the_manifest_holds_no_value()
    {
        await using var b = fx.Backend();
        // (/bin/sh passes on only variables whose names are shell identifiers: 'my secret!' is checked in the Secret.)
        var id = await b.SubmitAsync(Job("printf '%s|%s' \"$DB_PASSWORD\" \"$PLAIN\""), None);
        var info = await Eventually.Finished(b, id);
        Assert.Equal(HPCJobStatus.Completed, info.Status);
        Assert.Equal(SecretValue + "|visible", await b.GetLogsAsync(id, LogQuery.All, None));

        using var c = fx.Client();
        var job = await c.BatchV1.ReadNamespacedJobAsync(id, Run);
        var manifest = KubernetesJson.Serialize(job) + KubernetesJson.Serialize(await c.CoreV1.ReadNamespacedConfigMapAsync(id, Run));
        Assert.DoesNotContain("pa55", manifest, StringComparison.Ordinal);
        var env = job.Spec.Template.Spec.Containers[0].Env;
        var db = env.Single(e => e.Name == "DB_PASSWORD");
        Assert.Null(db.Value);
        Assert.Equal(id, db.ValueFrom.SecretKeyRef.Name);
        Assert.Equal("DB_PASSWORD", db.ValueFrom.SecretKeyRef.Key);
        Assert.Equal("env-0", env.Single(e => e.Name == "my secret!").ValueFrom.SecretKeyRef.Key);

        var secret = await c.CoreV1.ReadNamespacedSecretAsync(id, Run);
        Assert.Equal(SecretValue, Encoding.UTF8.GetString(secret.Data["DB_PASSWORD"]));
        Assert.Equal("odd-name", Encoding.UTF8.GetString(secret.Data["env-0"]));
        var owner = Assert.Single(secret.Metadata.OwnerReferences);
        Assert.Equal(("Job", id, job.Metadata.Uid), (owner.Kind, owner.Name, owner.Uid));
        Assert.Equal("ccat-workflow", secret.Metadata.Labels["app.kubernetes.io/managed-by"]);
    }

    [Fact]
    public async Task Cancelling_deletes_the_Job_and_the_garbage_collector_its_Secret()
    {
        await using var b = fx.Backend();
        var id = await b.SubmitAsync(Job("sleep 300"), None);
        using var c = fx.Client();
        Assert.NotNull(await c.CoreV1.ReadNamespacedSecretAsync(id, Run));
        await b.CancelAsync(id, None);
        await Eventually.Until(async () =>
        {
            var list = await c.CoreV1.ListNamespacedSecretAsync(Run, labelSelector: $"ccat-workflow/job-id={id}");
            return list.Items.Count;
        }, n => n == 0);
    }

    [Fact]
    public void WhatIf_shows_the_Secret_with_placeholders_and_the_Job_with_references()
    {
        var text = fx.Backend().DescribeSubmission(Job("true"));
        Assert.DoesNotContain("pa55", text, StringComparison.Ordinal);
        Assert.DoesNotContain("odd-name", text, StringComparison.Ordinal);
        Assert.Contains("secretKeyRef:", text, StringComparison.Ordinal);
        Assert.Contains("kind: Secret", text, StringComparison.Ordinal);
        Assert.Contains("DB_PASSWORD: <secret>", text, StringComparison.Ordinal);
    }

    [Fact]
    public void No_secret_variables_no_Secret()
    {
        var plain = Job("true") with { SecretEnvironment = [] };
        Assert.Null(KubernetesJobSpecBuilder.BuildSecret(plain, fx.Backend().Options, "x-abcde"));
        Assert.DoesNotContain("kind: Secret", fx.Backend().DescribeSubmission(plain), StringComparison.Ordinal);
    }

    // ---- the double's Secrets, as the real API server

    [Fact]
    public async Task Double_merges_stringData_into_data_and_never_returns_it()
    {
        using var c = fx.Client();
        var name = "sd-" + Guid.NewGuid().ToString("N")[..8];
        var created = await c.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = name },
            Data = new Dictionary<string, byte[]> { ["a"] = "old"u8.ToArray(), ["b"] = "kept"u8.ToArray() },
            StringData = new Dictionary<string, string> { ["a"] = "new" },
        }, Run);
        Assert.Null(created.StringData);
        Assert.Equal("Opaque", created.Type);
        Assert.Equal("new", Encoding.UTF8.GetString(created.Data["a"]));
        Assert.Equal("kept", Encoding.UTF8.GetString(created.Data["b"]));
        var read = await c.CoreV1.ReadNamespacedSecretAsync(name, Run);
        Assert.Null(read.StringData);
        Assert.Null(read.Metadata.Generation);
    }

    [Fact]
    public async Task Double_refuses_a_bad_key_with_the_real_message()
    {
        using var c = fx.Client();
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => c.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "bad-key" },
            StringData = new Dictionary<string, string> { ["a b"] = "x" },
        }, Run));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains("data[a b]: Invalid value: \\\"a b\\\": a valid config key must consist of alphanumeric characters", e.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Double_refuses_invalid_base64_and_an_env_with_both_value_and_valueFrom()
    {
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        http.DefaultRequestHeaders.Authorization = new("Bearer", KubeDoubleFixture.Token);
        var url = fx.Server.Uri.ToString().TrimEnd('/') + $"/api/v1/namespaces/{Run}/secrets";
        var r = await http.PostAsync(url, new StringContent("{\"metadata\":{\"name\":\"b64\"},\"data\":{\"a\":\"not base64!\"}}", Encoding.UTF8, "application/json"));
        Assert.Equal(400, (int)r.StatusCode);

        using var c = fx.Client();
        var e = await Assert.ThrowsAsync<HttpOperationException>(() => c.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "both" },
            Spec = new V1PodSpec
            {
                Containers = [new V1Container
                {
                    Name = "main", Image = "busybox",
                    Env = [new V1EnvVar { Name = "X", Value = "v", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "s", Key = "k" } } }],
                }],
            },
        }, Run));
        Assert.Equal(422, (int)e.Response.StatusCode);
        Assert.Contains("env[0].valueFrom: Invalid value: \\\"\\\": may not be specified when `value` is not empty", e.Response.Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Double_keeps_a_pod_whose_Secret_is_missing_in_CreateContainerConfigError()
    {
        using var c = fx.Client();
        var pod = await c.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "nosecret-" + Guid.NewGuid().ToString("N")[..6] },
            Spec = new V1PodSpec
            {
                RestartPolicy = "Never",
                Containers = [new V1Container
                {
                    Name = "main", Image = "busybox", Command = ["true"],
                    Env = [new V1EnvVar { Name = "X", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "absent", Key = "k" } } }],
                }],
            },
        }, Run);
        var waiting = await Eventually.Until(async () =>
            (await c.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, Run)).Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting,
            w => w?.Reason == "CreateContainerConfigError");
        Assert.Equal("secret \"absent\" not found", waiting!.Message);
    }
}
