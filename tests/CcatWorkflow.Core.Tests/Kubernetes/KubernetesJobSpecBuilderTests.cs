using CcatWorkflow.Core.Backends.Kubernetes;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;
using k8s;
using k8s.Models;

namespace CcatWorkflow.Core.Tests.Kubernetes;

public class KubernetesJobSpecBuilderTests
{
    private static readonly KubernetesOptions Options = new() { Namespace = "ccat-workflows", RunnerImage = "registry.example/runner:1.3" };

    private static JobSubmission Submission(ResourceRequirements? resources = null) => new()
    {
        ExecutionCommand = "apptainer exec --bind /in:/workflow/input:ro /data/sif-cache/x.sif run --fast 'a b'",
        JobName = "Calibrate CO",
        Resources = resources ?? new ResourceRequirements(4, 16, 2, null),
        Environment = [new("FOO", "bar baz"), new("EMPTY", "")],
    };

    private static V1Job Build(JobSubmission? s = null, KubernetesOptions? o = null) =>
        KubernetesJobSpecBuilder.BuildJob(s ?? Submission(), o ?? Options, "calibrate-co-bcdfg");

    [Fact]
    public void The_job_runs_the_command_with_sh_c_in_the_runner_image_once()
    {
        var job = Build();
        var c = Assert.Single(job.Spec.Template.Spec.Containers);
        Assert.Equal(["/bin/sh", "-c", Submission().ExecutionCommand], c.Command);
        Assert.Null(c.Args);
        Assert.Equal("registry.example/runner:1.3", c.Image);
        Assert.Equal("main", c.Name);
        Assert.Equal("Never", job.Spec.Template.Spec.RestartPolicy);
        Assert.Equal(0, job.Spec.BackoffLimit);
    }

    [Fact]
    public void Name_namespace_labels_and_annotations_identify_the_module_the_id_and_the_name()
    {
        var job = Build();
        Assert.Equal("calibrate-co-bcdfg", job.Metadata.Name);
        Assert.Equal("ccat-workflows", job.Metadata.NamespaceProperty);
        foreach (var labels in new[] { job.Metadata.Labels, job.Spec.Template.Metadata.Labels })
        {
            Assert.Equal("ccat-workflow", labels["app.kubernetes.io/managed-by"]);
            Assert.Equal("calibrate-co-bcdfg", labels["ccat-workflow/job-id"]);
            Assert.Equal("Calibrate-CO", labels["ccat-workflow/job-name"]);
        }

        Assert.Equal("Calibrate CO", job.Metadata.Annotations["ccat-workflow/job-name"]);
    }

    [Fact]
    public void Cpu_and_memory_are_both_requests_and_limits_and_gpu_an_extended_resource()
    {
        var job = Build(Submission(new ResourceRequirements(4, 16, null, 2)), Options with { GpuResource = "amd.com/gpu" });
        var r = job.Spec.Template.Spec.Containers[0].Resources;
        foreach (var q in new[] { r.Requests, r.Limits })
        {
            Assert.Equal("4", q["cpu"].ToString());
            Assert.Equal("16Gi", q["memory"].ToString());
            Assert.Equal("2", q["amd.com/gpu"].ToString());
        }
    }

    [Theory]
    [InlineData(16, "16Gi")]
    [InlineData(0.5, "512Mi")]
    [InlineData(1.25, "1280Mi")]
    [InlineData(0.001, "2Mi")]
    public void Memory_becomes_a_binary_quantity(double gb, string expected) =>
        Assert.Equal(expected, KubernetesJobSpecBuilder.MemoryQuantity(gb));

    [Fact]
    public void No_resources_means_no_resources_block()
    {
        var job = Build(Submission(ResourceRequirements.None));
        Assert.Null(job.Spec.Template.Spec.Containers[0].Resources);
        Assert.Null(job.Spec.ActiveDeadlineSeconds);
    }

    [Theory]
    [InlineData(2, 7200L)]
    [InlineData(0.0005, 2L)]
    [InlineData(1.0 / 3600, 1L)]
    [InlineData(0.00001, 1L)]
    public void Time_hours_becomes_activeDeadlineSeconds_rounded_up(double hours, long expected) =>
        Assert.Equal(expected, Build(Submission(new ResourceRequirements(null, null, hours, null))).Spec.ActiveDeadlineSeconds);

    [Fact]
    public void Ttl_comes_from_the_setting_and_a_negative_setting_leaves_it_out()
    {
        Assert.Equal(600, Build(o: Options with { TtlSecondsAfterFinished = 600 }).Spec.TtlSecondsAfterFinished);
        Assert.Null(Build(o: Options with { TtlSecondsAfterFinished = -1 }).Spec.TtlSecondsAfterFinished);
    }

    [Fact]
    public void Environment_variables_are_env_entries_in_order_with_exact_values()
    {
        var env = Build().Spec.Template.Spec.Containers[0].Env;
        Assert.Equal(["FOO", "EMPTY"], env.Select(e => e.Name));
        Assert.Equal(["bar baz", ""], env.Select(e => e.Value));
    }

    [Fact]
    public void Workflow_output_dir_defaults_to_the_output_mount_unless_given()
    {
        var s = Submission() with { OutputDir = "/data/pipelines/p/output", SifPath = "/data/sif-cache/x.sif" };
        Assert.Contains(Build(s).Spec.Template.Spec.Containers[0].Env, e => e.Name == "WORKFLOW_OUTPUT_DIR" && e.Value == "/workflow/output");
        var given = s with { Environment = [new("WORKFLOW_OUTPUT_DIR", "/elsewhere")] };
        Assert.Single(Build(given).Spec.Template.Spec.Containers[0].Env, e => e.Name == "WORKFLOW_OUTPUT_DIR" && e.Value == "/elsewhere");
    }

    [Fact]
    public void Without_a_container_workflow_output_dir_is_the_output_directory_the_pod_mounts_at_its_own_path()
    {
        var s = Submission() with { OutputDir = "/data/pipelines/p/output" };
        var c = Build(s).Spec.Template.Spec.Containers[0];
        Assert.Contains(c.Env, e => e.Name == "WORKFLOW_OUTPUT_DIR" && e.Value == "/data/pipelines/p/output");
        Assert.Contains(c.VolumeMounts, m => m.MountPath == "/data/pipelines/p/output");
    }

    [Fact]
    public void A_working_directory_becomes_the_containers_workingDir_and_is_mounted()
    {
        var c = Build(Submission() with { WorkingDirectory = "/data/pipelines/p/work/" }).Spec.Template.Spec.Containers[0];
        Assert.Equal("/data/pipelines/p/work", c.WorkingDir);
        Assert.Contains(c.VolumeMounts, m => m.MountPath == "/data/pipelines/p/work" && m.ReadOnlyProperty is null);
        Assert.Null(Build().Spec.Template.Spec.Containers[0].WorkingDir); // default: the image's
    }

    [Fact]
    public void HostPath_volumes_mount_each_directory_at_its_own_path_input_and_manifest_read_only()
    {
        var s = Submission() with
        {
            InputDir = "/data/staged/obs1",
            OutputDir = "/data/pipelines/p/output",
            WorkspaceDir = "/data/pipelines/p/workspace",
            ManifestPath = "/data/pipelines/p/config/manifest.json",
            SifPath = "/opt/images/tool.sif",
        };
        var spec = Build(s).Spec.Template.Spec;
        var mounts = spec.Containers[0].VolumeMounts.ToDictionary(m => m.Name);
        var volumes = spec.Volumes.ToDictionary(v => v.Name);
        Assert.Equal(["input", "workspace", "output", "manifest", "sif-cache", "sif"], spec.Volumes.Select(v => v.Name));
        foreach (var (name, path, ro, type) in new[]
                 {
                     ("input", "/data/staged/obs1", true, "Directory"),
                     ("workspace", "/data/pipelines/p/workspace", false, "DirectoryOrCreate"),
                     ("output", "/data/pipelines/p/output", false, "DirectoryOrCreate"),
                     ("manifest", "/data/pipelines/p/config", true, "Directory"),
                     ("sif-cache", "/data/sif-cache", true, "Directory"),
                     ("sif", "/opt/images", true, "Directory"),
                 })
        {
            Assert.Equal(path, volumes[name].HostPath.Path);
            Assert.Equal(type, volumes[name].HostPath.Type);
            Assert.Equal(path, mounts[name].MountPath);
            Assert.Equal(ro ? true : null, mounts[name].ReadOnlyProperty);
        }
    }

    [Fact]
    public void A_sif_inside_the_cache_needs_no_extra_volume_and_one_directory_is_mounted_once()
    {
        var s = Submission() with { SifPath = "/data/sif-cache/tool.sif", OutputDir = "/data/p/out", WorkspaceDir = "/data/p/out" };
        var spec = Build(s).Spec.Template.Spec;
        Assert.Equal(["workspace", "sif-cache"], spec.Volumes.Select(v => v.Name));
    }

    [Fact]
    public void Pvc_volumes_mount_subpaths_of_one_claim_under_the_common_parent()
    {
        var o = Options with { VolumeKind = KubernetesVolumeKind.Pvc, PvcName = "pipeline-data" };
        Assert.Equal("/data", o.PvcRoot);
        var s = Submission() with { InputDir = "/data/staged/obs1", OutputDir = "/data/pipelines/p/output" };
        var spec = Build(s, o).Spec.Template.Spec;
        var volume = Assert.Single(spec.Volumes);
        Assert.Equal("pipeline-data", volume.PersistentVolumeClaim.ClaimName);
        var mounts = spec.Containers[0].VolumeMounts;
        Assert.Equal(["/data/staged/obs1", "/data/pipelines/p/output", "/data/sif-cache"], mounts.Select(m => m.MountPath));
        Assert.Equal(["staged/obs1", "pipelines/p/output", "sif-cache"], mounts.Select(m => m.SubPath));
        Assert.Equal(new bool?[] { true, null, true }, mounts.Select(m => m.ReadOnlyProperty));
    }

    [Fact]
    public void A_directory_outside_the_claim_is_refused_before_submission()
    {
        var o = Options with { VolumeKind = KubernetesVolumeKind.Pvc, PvcName = "pipeline-data" };
        var ex = Assert.Throws<CcatException>(() => Build(Submission() with { InputDir = "/mnt/other" }, o));
        Assert.Equal(CcatErrorId.InvalidSubmission, ex.ErrorId);
        Assert.Contains("/mnt/other", ex.Message);
    }

    [Fact]
    public void A_relative_directory_is_refused()
    {
        var ex = Assert.Throws<CcatException>(() => Build(Submission() with { OutputDir = "out" }));
        Assert.Equal(CcatErrorId.InvalidSubmission, ex.ErrorId);
    }

    [Fact]
    public void Service_account_node_selector_and_security_context_come_from_settings()
    {
        var o = Options with
        {
            ServiceAccount = "ccat-runner",
            NodeSelector = new Dictionary<string, string> { ["kubernetes.io/arch"] = "amd64" },
            RunAsUser = 1000,
            Privileged = true,
        };
        var spec = Build(o: o).Spec.Template.Spec;
        Assert.Equal("ccat-runner", spec.ServiceAccountName);
        Assert.Equal("amd64", spec.NodeSelector["kubernetes.io/arch"]);
        Assert.Equal(1000, spec.SecurityContext.RunAsUser);
        Assert.True(spec.Containers[0].SecurityContext.Privileged);

        var plain = Build().Spec.Template.Spec;
        Assert.Null(plain.ServiceAccountName);
        Assert.Null(plain.NodeSelector);
        Assert.Null(plain.SecurityContext);
        Assert.Null(plain.Containers[0].SecurityContext);
    }

    [Fact]
    public void What_if_renders_the_job_and_its_record_as_yaml_that_reads_back()
    {
        var s = Submission();
        var job = Build(s);
        var record = KubernetesJobSpecBuilder.BuildRecord(s, Options, "calibrate-co-bcdfg", DateTimeOffset.Parse("2026-01-02T03:04:05Z", System.Globalization.CultureInfo.InvariantCulture));
        var text = KubernetesJobSpecBuilder.Render(job, record);
        var docs = text.Split("\n---\n");
        var back = KubernetesYaml.Deserialize<V1Job>(docs[0]);
        Assert.Equal(KubernetesJson.Serialize(job), KubernetesJson.Serialize(back));
        var cm = KubernetesYaml.Deserialize<V1ConfigMap>(docs[1]);
        Assert.Equal("Calibrate CO", cm.Data["jobName"]);
        Assert.Equal("2026-01-02T03:04:05.000Z", cm.Data["submittedAt"]);
        Assert.Equal("4", cm.Data["cpu"]);
        Assert.Equal("job", cm.Metadata.Labels["ccat-workflow/record"]);
    }
}
