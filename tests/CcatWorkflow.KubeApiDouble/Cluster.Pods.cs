using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using k8s.Models;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>What the "kubelet" keeps about a pod beside its API object: its log and process.</summary>
public sealed class PodRuntime
{
    /// <summary>The pod's namespace.</summary>
    public required string Namespace { get; init; }

    /// <summary>The pod's name.</summary>
    public required string Name { get; init; }

    /// <summary>The live API object (changed under the cluster's gate).</summary>
    public required V1Pod Pod { get; set; }

    /// <summary>The container's output, stdout and stderr merged as a kubelet does.</summary>
    public StringBuilder Log { get; } = new();

    /// <summary>The running process in run mode.</summary>
    public Process? Process { get; set; }

    /// <summary>Set when a test or a deletion took the pod out of the process's hands.</summary>
    public bool Overridden { get; set; }

    /// <summary>When ErrImagePull was reported (turns into ImagePullBackOff).</summary>
    public DateTime? PullFailedAt { get; set; }

    /// <summary>The init containers' output, by container name (run mode).</summary>
    public Dictionary<string, StringBuilder> InitLogs { get; } = new(StringComparer.Ordinal);

    /// <summary>True once every init container has exited 0 (or the pod has none).</summary>
    public bool Initialized { get; set; }

    /// <summary>Run mode: the directory holding the pod's projected service-account files.</summary>
    public string? ServiceAccountDir { get; set; }

    /// <summary>Completes when the container has terminated or the pod is gone (ends log follows).</summary>
    public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>The state a test can put a pod in through the control API.</summary>
/// <param name="State">running, terminated, waiting, unschedulable, evicted or scheduled.</param>
/// <param name="ExitCode">For terminated.</param>
/// <param name="Reason">For terminated (OOMKilled, Error, Completed…) and waiting (ErrImagePull, ImagePullBackOff, InvalidImageName…).</param>
/// <param name="Message">Optional message.</param>
public sealed record PodStateChange(string State, int? ExitCode = null, string? Reason = null, string? Message = null);

public sealed partial class Cluster
{
    /// <summary>The one node of the double.</summary>
    public const string NodeName = "double-node-1";

    private readonly Dictionary<(string Ns, string Name), PodRuntime> _runtimes = new();
    private int _podIp = 10;

    // Run mode: images whose registry host ends in ".invalid" or whose name contains
    // "does-not-exist" cannot be pulled (ErrImagePull, then ImagePullBackOff).
    [GeneratedRegex("^((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$")]
    private static partial Regex ImageReference();

    /// <summary>The runtime of a pod, if it exists.</summary>
    public PodRuntime? Runtime(string ns, string name)
    {
        lock (Gate) return _runtimes.GetValueOrDefault((ns, name));
    }

    private V1PodStatus NewPodStatus(V1Pod pod)
    {
        var now = Now();
        var ip = Interlocked.Increment(ref _podIp);
        var inits = pod.Spec.InitContainers ?? [];
        _runtimes[(pod.Metadata.NamespaceProperty, pod.Metadata.Name)] = new PodRuntime { Namespace = pod.Metadata.NamespaceProperty, Name = pod.Metadata.Name, Pod = pod, Initialized = inits.Count == 0 };
        var status = new V1PodStatus
        {
            Phase = "Pending",
            QosClass = Defaults.QosClass(pod.Spec),
            HostIP = "10.0.0.2",
            HostIPs = [new V1HostIP { Ip = "10.0.0.2" }],
            PodIP = $"10.244.0.{ip % 250 + 2}",
            StartTime = now,
            Conditions =
            [
                new V1PodCondition { Type = "PodReadyToStartContainers", Status = "False", LastTransitionTime = now },
                new V1PodCondition { Type = "Initialized", Status = "True", LastTransitionTime = now },
                new V1PodCondition { Type = "Ready", Status = "False", LastTransitionTime = now, Reason = "ContainersNotReady", Message = $"containers with unready status: [{string.Join(' ', pod.Spec.Containers.Select(c => c.Name))}]" },
                new V1PodCondition { Type = "ContainersReady", Status = "False", LastTransitionTime = now, Reason = "ContainersNotReady", Message = $"containers with unready status: [{string.Join(' ', pod.Spec.Containers.Select(c => c.Name))}]" },
                new V1PodCondition { Type = "PodScheduled", Status = "True", LastTransitionTime = now },
            ],
            ContainerStatuses = pod.Spec.Containers.Select(c => new V1ContainerStatus
            {
                Name = c.Name,
                Image = c.Image,
                ImageID = "",
                Ready = false,
                Started = false,
                RestartCount = 0,
                State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "ContainerCreating" } },
            }).ToList(),
        };
        if (inits.Count == 0) return status;

        // As the kubelet shows a pod whose init containers have not all run yet.
        SetCondition(new V1Pod { Status = status }, "Initialized", "False", "ContainersNotInitialized", $"containers with incomplete status: [{string.Join(' ', inits.Select(c => c.Name))}]");
        foreach (var c in status.ContainerStatuses) c.State.Waiting.Reason = "PodInitializing";
        status.InitContainerStatuses = inits.Select(c => new V1ContainerStatus
        {
            Name = c.Name,
            Image = c.Image,
            ImageID = "",
            Ready = false,
            Started = false,
            RestartCount = 0,
            State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "PodInitializing" } },
        }).ToList();
        return status;
    }

    private bool TryGetPod(string ns, string name, out V1Pod pod, out PodRuntime rt)
    {
        pod = null!;
        rt = null!;
        if (!_store[ResourceKind.Pods].TryGetValue((ns, name), out var obj) || !_runtimes.TryGetValue((ns, name), out var r)) return false;
        pod = (V1Pod)obj;
        rt = r;
        return true;
    }

    private void Touch(V1Pod pod)
    {
        pod.Metadata.ResourceVersion = NextResourceVersion();
        Publish(ResourceKind.Pods, "MODIFIED", pod);
    }

    private static bool IsTerminal(V1Pod pod) => pod.Status?.Phase is "Succeeded" or "Failed";

    private static void SetCondition(V1Pod pod, string type, string status, string? reason = null, string? message = null)
    {
        pod.Status.Conditions ??= [];
        var c = pod.Status.Conditions.FirstOrDefault(x => x.Type == type);
        if (c is null)
        {
            pod.Status.Conditions.Add(new V1PodCondition { Type = type, Status = status, LastTransitionTime = Now(), Reason = reason, Message = message });
        }
        else if (c.Status != status || c.Reason != reason)
        {
            c.Status = status;
            c.Reason = reason;
            c.Message = message;
            c.LastTransitionTime = Now();
        }
    }

    // ------------------------------------------------------------------ state changes (kubelet and tests)

    /// <summary>Applies a test's state change to a pod (control API). Works in both modes: a running process is killed first.</summary>
    public void SetPodState(string ns, string name, PodStateChange change)
    {
        PodRuntime? rt;
        lock (Gate)
        {
            if (!TryGetPod(ns, name, out _, out rt)) throw ApiError.NotFound(ResourceKind.Pods, name);
            rt.Overridden = true;
        }

        if (change.State != "log") KillProcess(rt);
        lock (Gate)
        {
            if (!TryGetPod(ns, name, out var pod, out _)) throw ApiError.NotFound(ResourceKind.Pods, name);
            switch (change.State.ToLowerInvariant())
            {
                case "running":
                    SetRunningLocked(pod);
                    break;
                case "terminated":
                    SetTerminatedLocked(pod, rt, change.ExitCode ?? 0, change.Reason ?? ((change.ExitCode ?? 0) == 0 ? "Completed" : "Error"), change.Message);
                    break;
                case "waiting":
                    SetWaitingLocked(pod, rt, change.Reason ?? "ContainerCreating", change.Message);
                    break;
                case "unschedulable":
                    SetUnschedulableLocked(pod, change.Message ?? "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.");
                    break;
                case "evicted":
                    EvictLocked(pod, rt, change.Message ?? "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. Container main was using 2Gi, request is 1Gi, has larger consumption of memory.");
                    break;
                case "scheduled":
                    pod.Spec.NodeName = NodeName;
                    SetCondition(pod, "PodScheduled", "True");
                    Touch(pod);
                    break;
                default:
                    throw ApiError.BadRequest($"unknown state '{change.State}': use running, terminated, waiting, unschedulable, evicted or scheduled");
            }
        }
    }

    /// <summary>Adds text to a pod's log (control API, manual mode).</summary>
    public void AppendLog(string ns, string name, string text)
    {
        PodRuntime rt;
        lock (Gate)
        {
            if (!TryGetPod(ns, name, out _, out rt)) throw ApiError.NotFound(ResourceKind.Pods, name);
        }

        lock (rt.Log) rt.Log.Append(text);
    }

    private void SetRunningLocked(V1Pod pod)
    {
        var now = Now();
        pod.Spec.NodeName ??= NodeName;
        pod.Status.Phase = "Running";
        pod.Status.StartTime ??= now;
        var cs = pod.Status.ContainerStatuses ??= pod.Spec.Containers.Select(c => new V1ContainerStatus { Name = c.Name, Image = c.Image, ImageID = "" }).ToList();
        foreach (var c in cs)
        {
            c.State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = now } };
            c.Ready = true;
            c.Started = true;
            c.ImageID = $"{c.Image}@sha256:{new string('0', 64)}";
            c.ContainerID = "containerd://" + Guid.NewGuid().ToString("N");
        }

        SetCondition(pod, "PodScheduled", "True");
        SetCondition(pod, "PodReadyToStartContainers", "True");
        SetCondition(pod, "ContainersReady", "True");
        SetCondition(pod, "Ready", "True");
        Touch(pod);
    }

    private void SetTerminatedLocked(V1Pod pod, PodRuntime rt, int exitCode, string reason, string? message, string? podReason = null, string? podMessage = null)
    {
        if (IsTerminal(pod)) return;
        var now = Now();
        pod.Status.Phase = exitCode == 0 && reason == "Completed" ? "Succeeded" : "Failed";
        if (podReason is not null)
        {
            pod.Status.Reason = podReason;
            pod.Status.Message = podMessage;
        }

        foreach (var c in pod.Status.ContainerStatuses ?? [])
        {
            var started = c.State?.Running?.StartedAt;
            c.State = new V1ContainerState
            {
                Terminated = new V1ContainerStateTerminated
                {
                    ExitCode = exitCode,
                    Reason = reason,
                    Message = message,
                    StartedAt = started ?? now,
                    FinishedAt = now,
                    ContainerID = c.ContainerID,
                },
            };
            c.Ready = false;
            c.Started = false;
        }

        SetCondition(pod, "PodReadyToStartContainers", "False");
        SetCondition(pod, "ContainersReady", "False", "PodCompleted");
        SetCondition(pod, "Ready", "False", "PodCompleted");
        pod.Metadata.Finalizers?.Remove("batch.kubernetes.io/job-tracking");
        Touch(pod);
        rt.Ended.TrySetResult();
        OnPodFinished(pod);
    }

    private void SetWaitingLocked(V1Pod pod, PodRuntime rt, string reason, string? message)
    {
        pod.Status.Phase = "Pending";
        pod.Spec.NodeName ??= NodeName;
        SetCondition(pod, "PodScheduled", "True");
        pod.Status.ContainerStatuses ??= pod.Spec.Containers.Select(c => new V1ContainerStatus { Name = c.Name, Image = c.Image, ImageID = "" }).ToList();
        foreach (var c in pod.Status.ContainerStatuses)
        {
            c.State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } };
            c.Ready = false;
            c.Started = false;
        }

        if (reason == "ErrImagePull") rt.PullFailedAt = DateTime.UtcNow;
        Touch(pod);
    }

    private void SetUnschedulableLocked(V1Pod pod, string message)
    {
        pod.Status.Phase = "Pending";
        pod.Spec.NodeName = null;
        pod.Status.ContainerStatuses = null;
        pod.Status.HostIP = null;
        pod.Status.HostIPs = null;
        pod.Status.PodIP = null;
        pod.Status.StartTime = null;
        pod.Status.Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "False", Reason = "Unschedulable", Message = message, LastTransitionTime = Now() }];
        Touch(pod);
    }

    private void EvictLocked(V1Pod pod, PodRuntime rt, string message)
    {
        SetCondition(pod, "DisruptionTarget", "True", "TerminationByKubelet", message);
        pod.Status.ContainerStatuses ??= pod.Spec.Containers.Select(c => new V1ContainerStatus { Name = c.Name, Image = c.Image, ImageID = "" }).ToList();
        SetTerminatedLocked(pod, rt, 137, "ContainerStatusUnknown", "The container could not be located when the pod was terminated", "Evicted", message);
    }

    // ------------------------------------------------------------------ run mode

    /// <summary>Run mode: pulls (by the image-name convention) and runs the pod's first container on this host.</summary>
    internal void StartContainer(string ns, string name)
    {
        PodRuntime rt;
        V1Container container;
        Dictionary<string, string> secretValues;
        lock (Gate)
        {
            if (!TryGetPod(ns, name, out var pod, out rt) || pod.Spec.NodeName is null) return;
            if (!rt.Initialized)
            {
                _ = Task.Run(() => RunInitContainersAsync(ns, name));
                return;
            }

            container = pod.Spec.Containers[0];
            var image = container.Image ?? "";
            if (!ImageReference().IsMatch(image))
            {
                SetWaitingLocked(pod, rt, "InvalidImageName", $"Failed to apply default image tag \"{image}\": couldn't parse image name \"{image}\": invalid reference format");
                return;
            }

            var host = image.Contains('/') ? image[..image.IndexOf('/')] : "";
            if (host.EndsWith(".invalid", StringComparison.Ordinal) || image.Contains("does-not-exist", StringComparison.Ordinal))
            {
                SetWaitingLocked(pod, rt, "ErrImagePull",
                    $"failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found");
                return;
            }

            // The kubelet resolves secretKeyRef when it creates the container: a missing Secret
            // or key (not optional) keeps the container waiting in CreateContainerConfigError.
            secretValues = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var e in container.Env ?? [])
            {
                if (e.ValueFrom?.ConfigMapKeyRef is { } ck)
                {
                    // Read once, when the container is created, as the kubelet does.
                    var cm = _store[ResourceKind.ConfigMaps].TryGetValue((ns, ck.Name), out var foundCm) ? (V1ConfigMap)foundCm : null;
                    if (cm?.Data is { } data && data.TryGetValue(ck.Key, out var cmValue))
                    {
                        secretValues[e.Name] = cmValue;
                    }
                    else if (ck.Optional != true)
                    {
                        SetWaitingLocked(pod, rt, "CreateContainerConfigError", cm is null
                            ? $"configmap \"{ck.Name}\" not found"
                            : $"couldn't find key {ck.Key} in ConfigMap {ns}/{ck.Name}");
                        return;
                    }

                    continue;
                }

                if (e.ValueFrom?.SecretKeyRef is not { } sk) continue;
                var secret = _store[ResourceKind.Secrets].TryGetValue((ns, sk.Name), out var found) ? (V1Secret)found : null;
                if (secret is null || secret.Data?.ContainsKey(sk.Key) != true)
                {
                    if (sk.Optional == true) continue;
                    SetWaitingLocked(pod, rt, "CreateContainerConfigError", secret is null
                        ? $"secret \"{sk.Name}\" not found"
                        : $"couldn't find key {sk.Key} in Secret {ns}/{sk.Name}");
                    return;
                }

                secretValues[e.Name] = System.Text.Encoding.UTF8.GetString(secret.Data[sk.Key]);
            }
        }

        var argv = (container.Command ?? []).Concat(container.Args ?? []).ToList();
        if (argv.Count == 0)
        {
            lock (Gate)
            {
                if (TryGetPod(ns, name, out var pod, out _))
                {
                    AppendLogLocked(rt, "kube-api-double: the image's entrypoint is unknown here; give the container a command\n");
                    SetRunningLocked(pod);
                    SetTerminatedLocked(pod, rt, 128, "StartError", "failed to create containerd task: no command specified");
                }
            }

            return;
        }

        V1Pod snapshot;
        lock (Gate)
        {
            if (!TryGetPod(ns, name, out var current, out _)) return;
            snapshot = Clone(current);
        }

        var psi = StartInfo(snapshot, container, argv, secretValues, serviceAccountDir: null);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        try
        {
            process.Start();
            process.StandardInput.Close();
        }
        catch (Win32Exception e)
        {
            lock (Gate)
            {
                if (TryGetPod(ns, name, out var pod, out _))
                {
                    var msg = $"failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"{argv[0]}\": {e.Message}: unknown";
                    AppendLogLocked(rt, msg + "\n");
                    SetRunningLocked(pod);
                    SetTerminatedLocked(pod, rt, 128, "StartError", msg);
                }
            }

            process.Dispose();
            return;
        }

        lock (Gate)
        {
            rt.Process = process;
            if (TryGetPod(ns, name, out var pod, out _) && !rt.Overridden) SetRunningLocked(pod);
        }

        var stdout = PumpAsync(process.StandardOutput, rt.Log);
        var stderr = PumpAsync(process.StandardError, rt.Log);
        _ = Task.Run(async () =>
        {
            await process.WaitForExitAsync().ConfigureAwait(false);
            await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
            lock (Gate)
            {
                if (!rt.Overridden && TryGetPod(ns, name, out var pod, out _))
                {
                    var code = process.ExitCode;
                    SetTerminatedLocked(pod, rt, code, code == 0 ? "Completed" : "Error", null);
                }
            }
        });
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder log)
    {
        var buffer = new char[4096];
        int n;
        try
        {
            while ((n = await reader.ReadAsync(buffer.AsMemory()).ConfigureAwait(false)) > 0)
            {
                lock (log) log.Append(buffer, 0, n);
            }
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static void AppendLogLocked(PodRuntime rt, string text)
    {
        lock (rt.Log) rt.Log.Append(text);
    }

    /// <summary>Kills a pod's process tree, if any, and waits for it (outside the gate).</summary>
    internal static void KillProcess(PodRuntime rt)
    {
        var p = rt.Process;
        if (p is null) return;
        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        catch (Win32Exception)
        {
        }
    }

    // ------------------------------------------------------------------ delete

    /// <summary>
    /// Deletes a pod as the kubelet would after a graceful delete: a running container is
    /// killed (exit 137), the pod object shows a deletionTimestamp, then it is removed.
    /// Returns the pod as it was at deletion.
    /// </summary>
    public string DeletePod(string ns, string name)
    {
        PodRuntime rt;
        lock (Gate)
        {
            if (!TryGetPod(ns, name, out _, out rt)) throw ApiError.NotFound(ResourceKind.Pods, name);
            rt.Overridden = true;
        }

        KillProcess(rt);
        lock (Gate)
        {
            if (!TryGetPod(ns, name, out var pod, out _)) throw ApiError.NotFound(ResourceKind.Pods, name);
            if (!IsTerminal(pod) && pod.Status.ContainerStatuses?.Any(c => c.State?.Running is not null) == true)
            {
                SetTerminatedLocked(pod, rt, 137, "Error", null);
            }
            else if (!IsTerminal(pod))
            {
                OnPodFinished(pod, deletedWhilePending: true);
            }

            pod.Metadata.DeletionTimestamp = Now();
            pod.Metadata.DeletionGracePeriodSeconds = 0;
            pod.Metadata.Finalizers = null;
            Touch(pod);
            var json = k8s.KubernetesJson.Serialize(pod);
            _store[ResourceKind.Pods].Remove((ns, name));
            _runtimes.Remove((ns, name));
            pod.Metadata.ResourceVersion = NextResourceVersion();
            Publish(ResourceKind.Pods, "DELETED", pod);
            rt.Ended.TrySetResult();
            return json;
        }
    }
}
