using k8s.Models;

namespace CcatWorkflow.Core.Tests.Kubernetes;

/// <summary>Jobs and pods in the shapes a real API server returns, for mapper tests.</summary>
internal static class K8sObjects
{
    public static readonly DateTime T0 = new(2026, 3, 1, 10, 0, 0, DateTimeKind.Utc);

    public static V1Job Job(string id = "job-bcdfg", int backoffLimit = 0, int? cpu = 2, params V1JobCondition[] conditions)
    {
        var resources = cpu is { } c
            ? new V1ResourceRequirements
            {
                Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(c.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(c.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
            }
            : null;
        return new V1Job
        {
            Metadata = new V1ObjectMeta
            {
                Name = id,
                CreationTimestamp = T0,
                Labels = new Dictionary<string, string> { ["ccat-workflow/job-id"] = id, ["ccat-workflow/job-name"] = "my-job" },
                Annotations = new Dictionary<string, string> { ["ccat-workflow/job-name"] = "My Job" },
            },
            Spec = new V1JobSpec
            {
                BackoffLimit = backoffLimit,
                Template = new V1PodTemplateSpec { Spec = new V1PodSpec { Containers = [new V1Container { Name = "main", Image = "x", Resources = resources }] } },
            },
            Status = new V1JobStatus { Active = conditions.Length == 0 ? 1 : 0, Conditions = conditions.Length == 0 ? null : conditions.ToList() },
        };
    }

    public static V1JobCondition Condition(string type, string reason, string? message = null, DateTime? at = null) =>
        new() { Type = type, Status = "True", Reason = reason, Message = message, LastTransitionTime = at ?? T0.AddMinutes(5) };

    public static V1Pod Pod(string phase, V1ContainerState? state, string? reason = null, string? message = null, IList<V1PodCondition>? conditions = null, string name = "job-bcdfg-xyz12") => new()
    {
        Metadata = new V1ObjectMeta { Name = name, CreationTimestamp = T0, Labels = new Dictionary<string, string> { ["ccat-workflow/job-id"] = "job-bcdfg" } },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "main", Image = "x" }] },
        Status = new V1PodStatus
        {
            Phase = phase,
            Reason = reason,
            Message = message,
            Conditions = conditions,
            ContainerStatuses = state is null ? null : [new V1ContainerStatus { Name = "main", Image = "x", ImageID = "", Ready = false, RestartCount = 0, State = state }],
        },
    };

    public static V1ContainerState Running(DateTime started) => new() { Running = new V1ContainerStateRunning { StartedAt = started } };

    public static V1ContainerState Terminated(int exitCode, string reason, DateTime started, DateTime finished, string? message = null) =>
        new() { Terminated = new V1ContainerStateTerminated { ExitCode = exitCode, Reason = reason, StartedAt = started, FinishedAt = finished, Message = message } };

    public static V1ContainerState Waiting(string reason, string? message = null) =>
        new() { Waiting = new V1ContainerStateWaiting { Reason = reason, Message = message } };
}
