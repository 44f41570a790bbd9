using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Tests.Kubernetes;

public sealed class KubernetesClientFactoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ccat-kubeconfig-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Config(string current, params (string Context, string Server)[] contexts) =>
        "apiVersion: v1\nkind: Config\nclusters:\n"
        + string.Concat(contexts.Select(c => $"- name: {c.Context}\n  cluster:\n    server: {c.Server}\n"))
        + "users:\n- name: u\n  user:\n    token: t\ncontexts:\n"
        + string.Concat(contexts.Select(c => $"- name: {c.Context}\n  context:\n    cluster: {c.Context}\n    user: u\n"))
        + $"current-context: {current}\n";

    private Func<string, string?> Env(string? kubeconfig = null) => name => name switch
    {
        "KUBECONFIG" => kubeconfig,
        "HOME" => _dir, // no ~/.kube/config here
        _ => null,
    };

    [Fact]
    public void The_setting_names_the_file_and_the_context_setting_picks_a_context()
    {
        var file = Write("kc", Config("a", ("a", "https://a.example:6443"), ("b", "https://b.example:6443")));
        var first = KubernetesClientFactory.Resolve(new KubernetesOptions { Kubeconfig = file }, Env());
        Assert.StartsWith("https://a.example:6443", first.Configuration.Host);
        var other = KubernetesClientFactory.Resolve(new KubernetesOptions { Kubeconfig = file, Context = "b" }, Env());
        Assert.StartsWith("https://b.example:6443", other.Configuration.Host);
        Assert.Equal("t", other.Configuration.AccessToken);
        Assert.NotEqual(first.Source, other.Source);
    }

    [Fact]
    public void An_unknown_context_is_a_configuration_error()
    {
        var file = Write("kc", Config("a", ("a", "https://a.example")));
        var e = Assert.Throws<CcatException>(() => KubernetesClientFactory.Resolve(new KubernetesOptions { Kubeconfig = file, Context = "nope" }, Env()));
        Assert.Equal(CcatErrorId.InvalidConfiguration, e.ErrorId);
    }

    [Fact]
    public void KUBECONFIG_may_list_several_files_merged_first_wins_and_missing_ones_are_skipped()
    {
        var one = Write("one", Config("a", ("a", "https://one.example")));
        var two = Write("two", Config("b", ("a", "https://shadowed.example"), ("b", "https://two.example")));
        var list = string.Join(Path.PathSeparator, Path.Combine(_dir, "missing"), one, two);
        var merged = KubernetesClientFactory.Resolve(new KubernetesOptions(), Env(list));
        Assert.StartsWith("https://one.example", merged.Configuration.Host);
        var b = KubernetesClientFactory.Resolve(new KubernetesOptions { Context = "b" }, Env(list));
        Assert.StartsWith("https://two.example", b.Configuration.Host);
    }

    [Fact]
    public void The_default_file_is_used_when_nothing_else_is_set()
    {
        Directory.CreateDirectory(Path.Combine(_dir, ".kube"));
        Write(".kube/config", Config("a", ("a", "https://home.example")));
        var r = KubernetesClientFactory.Resolve(new KubernetesOptions(), Env());
        Assert.StartsWith("https://home.example", r.Configuration.Host);
    }

    [Fact]
    public void A_named_file_that_does_not_exist_or_no_configuration_at_all_is_a_configuration_error()
    {
        var e = Assert.Throws<CcatException>(() => KubernetesClientFactory.Resolve(new KubernetesOptions { Kubeconfig = Path.Combine(_dir, "nope") }, Env()));
        Assert.Equal(CcatErrorId.InvalidConfiguration, e.ErrorId);
        Assert.Contains("does not exist", e.Message);
        e = Assert.Throws<CcatException>(() => KubernetesClientFactory.Resolve(new KubernetesOptions(), Env()));
        Assert.Equal(CcatErrorId.InvalidConfiguration, e.ErrorId);
        Assert.Contains("No Kubernetes configuration", e.Message);
    }

    [Fact]
    public void A_broken_file_is_a_configuration_error()
    {
        var file = Write("broken", "this: is: not: a kubeconfig: [");
        var e = Assert.Throws<CcatException>(() => KubernetesClientFactory.Resolve(new KubernetesOptions { Kubeconfig = file }, Env()));
        Assert.Equal(CcatErrorId.InvalidConfiguration, e.ErrorId);
    }

    [Theory]
    [InlineData("K8S_VOLUME_KIND", "nfs")]
    [InlineData("K8S_NAMESPACE", "Not_Valid")]
    [InlineData("K8S_GPU_RESOURCE", "gpu")]
    [InlineData("JOB_RETENTION_DAYS", "-1")]
    [InlineData("K8S_RUNNER_IMAGE", "my image")]
    [InlineData("K8S_SERVICE_ACCOUNT", "Bad_Account")]
    [InlineData("K8S_TTL_SECONDS_AFTER_FINISHED", "4294967296")]
    public void Bad_settings_are_refused_when_the_settings_load(string name, string value)
    {
        var env = new Dictionary<string, string> { ["HOME"] = _dir, ["CCAT_WORKFLOW_MANAGER_" + name] = value };
        // One rule per setting, checked by the loader: KubernetesOptions only reads typed values.
        var e = Assert.Throws<CcatException>(() => Core.Configuration.SettingsLoader.Load(env, _dir));
        Assert.Equal(CcatErrorId.InvalidConfiguration, e.ErrorId);
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Pvc_needs_a_claim_name()
    {
        var env = new Dictionary<string, string> { ["HOME"] = _dir, ["CCAT_WORKFLOW_MANAGER_K8S_VOLUME_KIND"] = "pvc" };
        var e = Assert.Throws<CcatException>(() => Core.Configuration.SettingsLoader.Load(env, _dir));
        Assert.Contains("K8S_PVC_NAME", e.Message);
        env["CCAT_WORKFLOW_MANAGER_K8S_PVC_NAME"] = "Not_A_Claim";
        Assert.Contains("not a valid claim name", Assert.Throws<CcatException>(() => Core.Configuration.SettingsLoader.Load(env, _dir)).Message);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("0", null)]
    [InlineData("30", 30)]
    public void JOB_RETENTION_DAYS_is_off_by_default_and_a_number_of_days_when_set(string? value, int? days)
    {
        var env = new Dictionary<string, string>();
        if (value is not null) env["CCAT_WORKFLOW_MANAGER_JOB_RETENTION_DAYS"] = value;
        var options = KubernetesOptions.FromSettings(Core.Configuration.SettingsLoader.Load(env, _dir));
        Assert.Equal(days is { } d ? TimeSpan.FromDays(d) : null, options.RecordRetention);
    }
}
