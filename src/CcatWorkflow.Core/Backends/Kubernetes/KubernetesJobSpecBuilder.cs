using System.Globalization;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;
using k8s;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Turns a <see cref="JobSubmission"/> into the Kubernetes Job the backend creates: one
/// container running <c>/bin/sh -c &lt;execution command&gt;</c> in the runner image, with
/// <c>restartPolicy: Never</c>, <c>backoffLimit: 0</c> (retries belong to the caller), the
/// resources in both requests and limits, and the pipeline directories mounted at the same
/// paths they have on the host, so the caller's <c>apptainer exec --bind</c> line works unchanged.
/// </summary>
public static class KubernetesJobSpecBuilder
{
    /// <summary>Builds the Job for <paramref name="submission"/> with the given id.</summary>
    public static V1Job BuildJob(JobSubmission submission, KubernetesOptions options, string jobId)
    {
        ArgumentNullException.ThrowIfNull(submission);
        ArgumentNullException.ThrowIfNull(options);
        var labels = Labels(submission, jobId);
        var annotations = new Dictionary<string, string> { [KubernetesNames.JobNameAnnotation] = submission.JobName };
        if (submission.ImageRef is { } imageRef) annotations["ccat-workflow/image-ref"] = imageRef;
        if (submission.SifPath is { } sif) annotations["ccat-workflow/sif-path"] = sif;

        var (volumes, mounts) = BuildVolumes(submission, options);
        var container = new V1Container
        {
            Name = KubernetesNames.ContainerName,
            Image = options.RunnerImage,
            Command = ["/bin/sh", "-c", submission.ExecutionCommand],
            Env = BuildEnvironment(submission, jobId),
            WorkingDir = submission.WorkingDirectory is { } cwd ? KubernetesOptions.Normalize(cwd) : null,
            Resources = BuildResources(submission.Resources, options),
            VolumeMounts = mounts.Count == 0 ? null : mounts,
            SecurityContext = options.Privileged ? new V1SecurityContext { Privileged = true } : null,
        };

        var podSpec = new V1PodSpec
        {
            RestartPolicy = "Never",
            Containers = [container],
            Volumes = volumes.Count == 0 ? null : volumes,
            ServiceAccountName = options.ServiceAccount.Length == 0 ? null : options.ServiceAccount,
            NodeSelector = options.NodeSelector.Count == 0 ? null : new Dictionary<string, string>(options.NodeSelector),
            SecurityContext = options.RunAsUser >= 0 ? new V1PodSecurityContext { RunAsUser = options.RunAsUser } : null,
        };

        var job = new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = new V1ObjectMeta
            {
                Name = jobId,
                NamespaceProperty = options.Namespace,
                Labels = labels,
                Annotations = annotations,
            },
            Spec = new V1JobSpec
            {
                // The API default is 6 silent retries; a failed science step must fail once, visibly.
                BackoffLimit = 0,
                ActiveDeadlineSeconds = ActiveDeadlineSeconds(submission.Resources),
                TtlSecondsAfterFinished = options.TtlSecondsAfterFinished >= 0 ? (int)options.TtlSecondsAfterFinished : null,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta
                    {
                        Labels = new Dictionary<string, string>(labels),
                        Annotations = new Dictionary<string, string> { [KubernetesNames.JobNameAnnotation] = submission.JobName },
                    },
                    Spec = podSpec,
                },
            },
        };
        return KubernetesArraySpecBuilder.Apply(job, submission, options); // arrays and dependencies
    }

    /// <summary>
    /// The job's record: a ConfigMap named like the Job that outlives it, so a job deleted by
    /// its TTL, cancelled or deleted behind the module's back still reads correctly.
    /// </summary>
    public static V1ConfigMap BuildRecord(JobSubmission submission, KubernetesOptions options, string jobId, DateTimeOffset submittedAt)
    {
        var data = new Dictionary<string, string>
        {
            [KubernetesJobRecord.JobNameKey] = submission.JobName,
            [KubernetesJobRecord.SubmittedAtKey] = KubernetesJobRecord.FormatTime(submittedAt),
        };
        if (submission.Resources.Cpu is { } cpu) data[KubernetesJobRecord.CpuKey] = cpu.ToString(CultureInfo.InvariantCulture);
        if (submission.Resources.MemoryGb is { } mem) data[KubernetesJobRecord.MemoryGbKey] = mem.ToString("R", CultureInfo.InvariantCulture);
        if (submission.Resources.TimeHours is { } hours) data[KubernetesJobRecord.TimeHoursKey] = hours.ToString("R", CultureInfo.InvariantCulture);
        if (submission.Resources.Gpu is { } gpu) data[KubernetesJobRecord.GpuKey] = gpu.ToString(CultureInfo.InvariantCulture);
        data[KubernetesJobRecord.CommandKey] = submission.ExecutionCommand;
        KubernetesArraySpecBuilder.AddRecordData(data, submission);
        return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta
            {
                Name = jobId,
                NamespaceProperty = options.Namespace,
                Labels = KubernetesNames.OwnedLabels(jobId, "job"),
            },
            Data = data,
        };
    }

    /// <summary>
    /// What -WhatIf shows: the Job manifest, its record and (when the job has secret variables)
    /// its Secret with every value shown as <see cref="JobSubmission.SecretPlaceholder"/>, as YAML.
    /// </summary>
    public static string Render(V1Job job, V1ConfigMap record, V1Secret? secret = null)
    {
        var text = "# The 5-character suffix of the name is drawn anew for each submission.\n"
            + ManifestYaml.Serialize(job).TrimEnd() + "\n---\n" + ManifestYaml.Serialize(record).TrimEnd() + "\n";
        if (secret is null) return text;
        var shown = new V1Secret
        {
            ApiVersion = secret.ApiVersion,
            Kind = secret.Kind,
            Type = secret.Type,
            Metadata = secret.Metadata,
            StringData = (secret.Data ?? new Dictionary<string, byte[]>()).Keys.ToDictionary(k => k, _ => JobSubmission.SecretPlaceholder, StringComparer.Ordinal),
        };
        return text + "---\n# Values are not shown; the Job becomes the Secret's owner once it exists.\n" + ManifestYaml.Serialize(shown).TrimEnd() + "\n";
    }

    /// <summary>activeDeadlineSeconds for time_hours: whole seconds, rounded up, at least 1.</summary>
    public static long? ActiveDeadlineSeconds(ResourceRequirements resources) =>
        resources.TimeHours is { } h ? Math.Max(1, (long)Math.Ceiling(h * 3600 - 1e-9)) : null;

    /// <summary>memory_gb as a Kubernetes quantity: whole GiB as <c>NGi</c>, else MiB rounded up.</summary>
    public static string MemoryQuantity(double gb)
    {
        var mib = (long)Math.Ceiling(gb * 1024 - 1e-9);
        return mib % 1024 == 0 ? $"{mib / 1024}Gi" : $"{mib}Mi";
    }

    private static Dictionary<string, string> Labels(JobSubmission submission, string jobId)
    {
        var labels = KubernetesNames.OwnedLabels(jobId);
        var nameLabel = KubernetesNames.ToLabelValue(submission.JobName);
        if (nameLabel.Length > 0) labels[KubernetesNames.JobNameLabel] = nameLabel;
        return labels;
    }

    private static List<V1EnvVar>? BuildEnvironment(JobSubmission submission, string jobId)
    {
        var env = submission.EffectiveEnvironment.Select(kv => new V1EnvVar { Name = kv.Key, Value = kv.Value }).ToList();
        // Secrets: a reference into the job's Secret, never the value in the manifest.
        env.AddRange(SecretKeys(submission).Select(k => new V1EnvVar
        {
            Name = k.Name,
            ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = jobId, Key = k.Key } },
        }));

        return env.Count == 0 ? null : env;
    }

    /// <summary>
    /// The data key of each secret variable in the job's Secret: its own name where the API
    /// accepts it as a key (<c>[-._a-zA-Z0-9]+</c>), else <c>env-&lt;n&gt;</c>.
    /// </summary>
    public static IReadOnlyList<(string Name, string Key, string Value)> SecretKeys(JobSubmission submission)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<(string, string, string)>();
        var n = 0;
        foreach (var (name, value) in submission.SecretEnvironment)
        {
            var key = name.Length <= 253 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_') && name is not ("." or "..") ? name : null;
            while (key is null || !used.Add(key)) key = $"env-{n++}";
            list.Add((name, key, value));
        }

        return list;
    }

    /// <summary>
    /// The Secret that carries the job's secret variables (null when it has none), named like
    /// the Job and labelled like its record. The backend makes the Job its owner once the Job
    /// exists, so the garbage collector deletes it with the Job.
    /// </summary>
    public static V1Secret? BuildSecret(JobSubmission submission, KubernetesOptions options, string jobId)
    {
        var keys = SecretKeys(submission);
        if (keys.Count == 0) return null;
        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Type = "Opaque",
            Metadata = new V1ObjectMeta
            {
                Name = jobId,
                NamespaceProperty = options.Namespace,
                Labels = KubernetesNames.OwnedLabels(jobId),
            },
            Data = keys.ToDictionary(k => k.Key, k => System.Text.Encoding.UTF8.GetBytes(k.Value), StringComparer.Ordinal),
        };
    }

    private static V1ResourceRequirements? BuildResources(ResourceRequirements r, KubernetesOptions options)
    {
        var q = new Dictionary<string, ResourceQuantity>();
        if (r.Cpu is { } cpu) q["cpu"] = new ResourceQuantity(cpu.ToString(CultureInfo.InvariantCulture));
        if (r.MemoryGb is { } mem) q["memory"] = new ResourceQuantity(MemoryQuantity(mem));
        // Extended resources (GPUs) cannot be overcommitted: requests must equal limits.
        if (r.Gpu is { } gpu) q[options.GpuResource] = new ResourceQuantity(gpu.ToString(CultureInfo.InvariantCulture));
        if (q.Count == 0) return null;
        return new V1ResourceRequirements
        {
            Requests = new Dictionary<string, ResourceQuantity>(q),
            Limits = new Dictionary<string, ResourceQuantity>(q),
        };
    }

    private sealed record Mount(string Name, string Path, bool ReadOnly, string HostPathType);

    private static (List<V1Volume> Volumes, List<V1VolumeMount> Mounts) BuildVolumes(JobSubmission s, KubernetesOptions options)
    {
        var wanted = new List<Mount>();
        void Add(string name, string? path, bool readOnly, string type, string what)
        {
            if (path is null) return;
            if (!Path.IsPathRooted(path))
            {
                throw new CcatException(CcatErrorId.InvalidSubmission, $"{what} '{path}' must be an absolute path: the pod mounts it at the same path.");
            }

            var full = KubernetesOptions.Normalize(path);
            var existing = wanted.FindIndex(m => m.Path == full);
            if (existing >= 0)
            {
                // The same directory twice (output = workspace): one mount, writable if either is.
                if (!readOnly && wanted[existing].ReadOnly) wanted[existing] = wanted[existing] with { ReadOnly = false, HostPathType = type };
                return;
            }

            wanted.Add(new Mount(name, full, readOnly, type));
        }

        // The folder of a file the pod reads (the manifest, the image): mounted at the same path.
        static string FolderOf(string file, string what) => Path.IsPathRooted(file)
            ? Path.GetDirectoryName(KubernetesOptions.Normalize(file)) ?? "/"
            : throw new CcatException(CcatErrorId.InvalidSubmission, $"{what} '{file}' must be an absolute path: the pod mounts its directory at the same path.");

        Add("input", s.InputDir, readOnly: true, "Directory", "InputDir");
        Add("workspace", s.WorkspaceDir, readOnly: false, "DirectoryOrCreate", "WorkspaceDir");
        Add("output", s.OutputDir, readOnly: false, "DirectoryOrCreate", "OutputDir");
        Add("workdir", s.WorkingDirectory, readOnly: false, "Directory", "WorkingDirectory"); // reaches the pod like the other directories
        if (s.ManifestPath is { } manifest) Add("manifest", FolderOf(manifest, "ManifestPath"), readOnly: true, "Directory", "ManifestPath");

        var sifCache = KubernetesOptions.Normalize(options.SifCacheDir);
        Add("sif-cache", sifCache, readOnly: true, "Directory", "SIF_CACHE_DIR");
        if (s.SifPath is { } sif && FolderOf(sif, "SifPath") is var sifDir && !IsUnder(sifDir, sifCache))
        {
            Add("sif", sifDir, readOnly: true, "Directory", "SifPath");
        }

        var volumes = new List<V1Volume>();
        var mounts = new List<V1VolumeMount>();
        if (options.VolumeKind == KubernetesVolumeKind.HostPath)
        {
            foreach (var m in wanted)
            {
                volumes.Add(new V1Volume { Name = m.Name, HostPath = new V1HostPathVolumeSource { Path = m.Path, Type = m.HostPathType } });
                mounts.Add(new V1VolumeMount { Name = m.Name, MountPath = m.Path, ReadOnlyProperty = m.ReadOnly ? true : null });
            }
        }
        else if (wanted.Count > 0)
        {
            var root = options.PvcRoot;
            const string volumeName = "pipeline-data";
            volumes.Add(new V1Volume { Name = volumeName, PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = options.PvcName } });
            foreach (var m in wanted)
            {
                if (!IsUnder(m.Path, root))
                {
                    throw new CcatException(CcatErrorId.InvalidSubmission,
                        $"'{m.Path}' ({m.Name}) is not under '{root}', the directory the claim {options.PvcName} stands for (the common parent of PIPELINE_BASE_DIR and SIF_CACHE_DIR).");
                }

                var sub = m.Path.Length == root.Length ? null : m.Path[(root == "/" ? 1 : root.Length + 1)..];
                mounts.Add(new V1VolumeMount { Name = volumeName, MountPath = m.Path, SubPath = sub, ReadOnlyProperty = m.ReadOnly ? true : null });
            }
        }

        return (volumes, mounts);
    }

    private static bool IsUnder(string path, string dir) =>
        path == dir || dir == "/" || path.StartsWith(dir + "/", StringComparison.Ordinal);
}
