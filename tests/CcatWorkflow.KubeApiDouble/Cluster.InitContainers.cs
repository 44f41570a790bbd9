using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using k8s.Models;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>
/// Run mode for init containers, as the kubelet runs them: one after another, each to
/// completion, before the first container starts. Meanwhile the pod is Pending with condition
/// Initialized=False and its containers wait in <c>PodInitializing</c>. An init container that
/// exits non-zero in a pod with <c>restartPolicy: Never</c> fails the pod (phase Failed; the
/// containers never start); its termination message is the tail of its log when it asks for
/// <c>terminationMessagePolicy: FallbackToLogsOnError</c> (the last 80 lines, at most 2048 bytes).
/// Each init container's log is its own (<c>/log?container=NAME</c>). Init containers see the
/// pod's service account as described in Cluster.ServiceAccounts.cs.
/// </summary>
public sealed partial class Cluster
{
    private async Task RunInitContainersAsync(string ns, string name)
    {
        for (var i = 0; ; i++)
        {
            V1Container container;
            V1Pod snapshot;
            PodRuntime rt;
            StringBuilder log = new();
            lock (Gate)
            {
                if (!TryGetPod(ns, name, out var pod, out rt) || rt.Overridden || IsTerminal(pod)) return;
                var inits = pod.Spec.InitContainers ?? [];
                if (i >= inits.Count)
                {
                    rt.Initialized = true;
                    SetCondition(pod, "Initialized", "True");
                    foreach (var c in pod.Status.ContainerStatuses ?? []) c.State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "ContainerCreating" } };
                    Touch(pod);
                    break;
                }

                container = inits[i];
                rt.ServiceAccountDir ??= ProjectServiceAccountLocked(pod);
                rt.InitLogs[container.Name] = log;
                var status = pod.Status.InitContainerStatuses![i];
                status.State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = Now() } };
                status.Started = true;
                status.ImageID = $"{container.Image}@sha256:{new string('0', 64)}";
                status.ContainerID = "containerd://" + Guid.NewGuid().ToString("N");
                Touch(pod);
                snapshot = Clone(pod);
            }

            var argv = (container.Command ?? []).Concat(container.Args ?? []).ToList();
            int code;
            if (argv.Count == 0)
            {
                lock (log) log.Append("kube-api-double: the image's entrypoint is unknown here; give the container a command\n");
                code = 128;
            }
            else
            {
                var process = new Process { StartInfo = StartInfo(snapshot, container, argv, new Dictionary<string, string>(), rt.ServiceAccountDir), EnableRaisingEvents = true };
                try
                {
                    process.Start();
                    process.StandardInput.Close();
                }
                catch (Win32Exception e)
                {
                    lock (log) log.Append(System.Globalization.CultureInfo.InvariantCulture, $"exec: \"{argv[0]}\": {e.Message}\n");
                    process.Dispose();
                    process = null;
                }

                if (process is null)
                {
                    code = 128;
                }
                else
                {
                    lock (Gate) rt.Process = process;
                    var pumps = Task.WhenAll(PumpAsync(process.StandardOutput, log), PumpAsync(process.StandardError, log));
                    await process.WaitForExitAsync().ConfigureAwait(false);
                    await pumps.ConfigureAwait(false);
                    code = process.ExitCode;
                }
            }

            lock (Gate)
            {
                if (!TryGetPod(ns, name, out var pod, out _) || rt.Overridden) return;
                rt.Process = null;
                var status = pod.Status.InitContainerStatuses![i];
                var started = status.State?.Running?.StartedAt ?? Now();
                string? message = null;
                if (code != 0 && container.TerminationMessagePolicy == "FallbackToLogsOnError")
                {
                    string text;
                    lock (log) text = log.ToString();
                    var lines = text.TrimEnd('\n').Split('\n');
                    message = string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 80)));
                    if (Encoding.UTF8.GetByteCount(message) > 2048) message = message[^Math.Min(message.Length, 2048)..];
                }

                status.State = new V1ContainerState
                {
                    Terminated = new V1ContainerStateTerminated
                    {
                        ExitCode = code,
                        Reason = code == 0 ? "Completed" : "Error",
                        Message = message,
                        StartedAt = started,
                        FinishedAt = Now(),
                        ContainerID = status.ContainerID,
                    },
                };
                status.Started = false;
                status.Ready = code == 0;
                if (code != 0 && pod.Spec.RestartPolicy == "Never")
                {
                    // The pod fails; its containers never start.
                    pod.Status.Phase = "Failed";
                    SetCondition(pod, "PodReadyToStartContainers", "False");
                    pod.Metadata.Finalizers?.Remove("batch.kubernetes.io/job-tracking");
                    Touch(pod);
                    rt.Ended.TrySetResult();
                    OnPodFinished(pod);
                    return;
                }

                Touch(pod);
                if (code != 0) return; // OnFailure/Always would restart it with back-off: not modelled
            }
        }

        StartContainer(ns, name);
    }

    // The process of one container: argv, a clean environment (PATH, HOSTNAME, HOME, the API
    // service's address, the container's env with secretKeyRef values and simple fieldRefs), and,
    // with a service-account directory, bubblewrap mounting it where the kubelet would.
    private ProcessStartInfo StartInfo(V1Pod pod, V1Container container, List<string> argv, Dictionary<string, string> secretValues, string? serviceAccountDir)
    {
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = container.WorkingDir is { } wd && Directory.Exists(wd) ? wd : Path.GetTempPath(),
        };
        if (serviceAccountDir is not null)
        {
            psi.FileName = Bubblewrap;
            // /var/run is usually a link to /run: bubblewrap mounts at the real path (an empty tmpfs
            // there, so the mount point can be made without touching the host).
            var varRun = new DirectoryInfo("/var/run");
            var run = varRun.LinkTarget is null ? varRun.FullName : varRun.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "/run";
            var target = run + ServiceAccountMountPath["/var/run".Length..];
            foreach (var a in new[] { "--dev-bind", "/", "/", "--tmpfs", run, "--ro-bind", serviceAccountDir, target, "--" }) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(argv[0]);
        }

        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        var ns = pod.Metadata.NamespaceProperty;
        var name = pod.Metadata.Name;
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        psi.Environment["HOSTNAME"] = pod.Spec.Hostname ?? name;
        psi.Environment["HOME"] = "/root";
        // The kubelet points these at the API service; here that is this server.
        psi.Environment["KUBERNETES_SERVICE_HOST"] = ApiEndpoint?.Host ?? "10.96.0.1";
        psi.Environment["KUBERNETES_SERVICE_PORT"] = ApiEndpoint?.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "443";
        foreach (var e in container.Env ?? [])
        {
            if (secretValues.TryGetValue(e.Name, out var fromSecret))
            {
                psi.Environment[e.Name] = fromSecret;
                continue;
            }

            psi.Environment[e.Name] = e.Value ?? FieldValue(pod, e.ValueFrom?.FieldRef?.FieldPath);
        }

        return psi;
    }

    // The downward API's fieldRef paths the double knows.
    private static string FieldValue(V1Pod pod, string? path)
    {
        static string? Keyed(string path, string prefix, IDictionary<string, string>? map) =>
            path.StartsWith(prefix, StringComparison.Ordinal) && path.EndsWith("']", StringComparison.Ordinal)
                ? map?.TryGetValue(path[prefix.Length..^2], out var v) == true ? v : ""
                : null;

        return path switch
        {
            null => "",
            "metadata.name" => pod.Metadata.Name,
            "metadata.namespace" => pod.Metadata.NamespaceProperty,
            "metadata.uid" => pod.Metadata.Uid ?? "",
            "spec.nodeName" => NodeName,
            "spec.serviceAccountName" => pod.Spec.ServiceAccountName ?? "default",
            _ => Keyed(path, "metadata.annotations['", pod.Metadata.Annotations) ?? Keyed(path, "metadata.labels['", pod.Metadata.Labels) ?? "",
        };
    }
}
