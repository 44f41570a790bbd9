using System.Text.Json;
using System.Text.Json.Serialization;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Retries;

/// <summary>
/// What is recorded with a job submitted under a retry policy: the policy and everything needed
/// to submit the job again from any process. Secret variables are never part of it (a retry
/// policy refuses -SecretEnvironment), nor are dependencies; an array's plan names its indices
/// and serves each of its elements.
/// </summary>
public sealed record RetryPlan
{
    /// <summary>The plan's format.</summary>
    public int Version { get; init; } = 1;

    /// <summary>The policy.</summary>
    public required RetryPolicy Policy { get; init; }

    /// <summary>The shell command line.</summary>
    public required string ExecutionCommand { get; init; }

    /// <summary>The job name as given.</summary>
    public string JobName { get; init; } = "ccat-job";

    /// <summary>The image reference.</summary>
    public string? ImageRef { get; init; }

    /// <summary>The SIF file.</summary>
    public string? SifPath { get; init; }

    /// <summary>Input directory.</summary>
    public string? InputDir { get; init; }

    /// <summary>Output directory.</summary>
    public string? OutputDir { get; init; }

    /// <summary>Workspace directory.</summary>
    public string? WorkspaceDir { get; init; }

    /// <summary>Manifest file.</summary>
    public string? ManifestPath { get; init; }

    /// <summary>Working directory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>CPUs asked for.</summary>
    public int? Cpu { get; init; }

    /// <summary>Memory asked for (GiB) by the first attempt.</summary>
    public double? MemoryGb { get; init; }

    /// <summary>Time limit asked for (hours) by the first attempt.</summary>
    public double? TimeHours { get; init; }

    /// <summary>GPUs asked for.</summary>
    public int? Gpu { get; init; }

    /// <summary>Slurm partition for this job (-Partition).</summary>
    public string? Partition { get; init; }

    /// <summary>Slurm account (-Account).</summary>
    public string? Account { get; init; }

    /// <summary>Slurm QOS (-Qos).</summary>
    public string? Qos { get; init; }

    /// <summary>Extra sbatch options (-SchedulerOption).</summary>
    public IReadOnlyList<string> Directives { get; init; } = [];

    /// <summary>Kubernetes namespace (-Namespace).</summary>
    public string? Namespace { get; init; }

    /// <summary>The (non-secret) environment variables as given, in order.</summary>
    public IReadOnlyList<RetryPlanVariable> Environment { get; init; } = [];

    /// <summary>
    /// For an array under the policy, its index list (<c>0-99</c>): each element is retried on
    /// its own, as a job of its own with the element's index (docs/retries.md); null for a job
    /// that is not an array.
    /// </summary>
    public string? ArrayIndex { get; init; }

    /// <summary>The first attempt's resources.</summary>
    [JsonIgnore]
    public ResourceRequirements Resources => new(Cpu, MemoryGb, TimeHours, Gpu);

    /// <summary>The plan of <paramref name="submission"/> under its policy.</summary>
    public static RetryPlan Of(JobSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(submission);
        return new RetryPlan
        {
            Policy = submission.Retry ?? throw new ArgumentException("The submission has no retry policy.", nameof(submission)),
            ExecutionCommand = submission.ExecutionCommand,
            JobName = submission.JobName,
            ImageRef = submission.ImageRef,
            SifPath = submission.SifPath,
            InputDir = submission.InputDir,
            OutputDir = submission.OutputDir,
            WorkspaceDir = submission.WorkspaceDir,
            ManifestPath = submission.ManifestPath,
            WorkingDirectory = submission.WorkingDirectory,
            Cpu = submission.Resources.Cpu,
            MemoryGb = submission.Resources.MemoryGb,
            TimeHours = submission.Resources.TimeHours,
            Gpu = submission.Resources.Gpu,
            Partition = submission.SchedulerOptions.Partition,
            Account = submission.SchedulerOptions.Account,
            Qos = submission.SchedulerOptions.Qos,
            Directives = submission.SchedulerOptions.Directives,
            Namespace = submission.SchedulerOptions.Namespace,
            Environment = submission.Environment.Where(kv => kv.Key != RetryRules.AttemptVariable).Select(kv => new RetryPlanVariable(kv.Key, kv.Value)).ToList(),
            ArrayIndex = submission.ArrayIndex?.Text,
        };
    }

    /// <summary>The submission of attempt <paramref name="attempt"/> with <paramref name="resources"/>.</summary>
    public JobSubmission ToSubmission(int attempt, ResourceRequirements resources) => RetryRules.ForAttempt(new JobSubmission
    {
        ExecutionCommand = ExecutionCommand,
        JobName = JobName,
        ImageRef = ImageRef,
        SifPath = SifPath,
        InputDir = InputDir,
        OutputDir = OutputDir,
        WorkspaceDir = WorkspaceDir,
        ManifestPath = ManifestPath,
        WorkingDirectory = WorkingDirectory,
        Resources = resources,
        Environment = Environment.Select(v => new KeyValuePair<string, string>(v.Name, v.Value)).ToList(),
        Retry = Policy,
        SchedulerOptions = new JobSchedulerOptions { Partition = Partition, Account = Account, Qos = Qos, Directives = Directives, Namespace = Namespace },
    }, attempt);

    /// <summary>The plan as stored.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, RetryJsonContext.Default.RetryPlan);

    /// <summary>A stored plan; null when the text is not one.</summary>
    public static RetryPlan? FromJson(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            return JsonSerializer.Deserialize(text, RetryJsonContext.Default.RetryPlan);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>One environment variable of a plan.</summary>
/// <param name="Name">The name.</param>
/// <param name="Value">The value.</param>
public sealed record RetryPlanVariable(string Name, string Value);

/// <summary>
/// Plans and claims as stored: camelCase, enums by name, nulls left out. Source-generated, so
/// the Native AOT runner (which compiles this assembly) needs no reflection for them.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(RetryPlan))]
[JsonSerializable(typeof(RetryClaim))]
internal sealed partial class RetryJsonContext : JsonSerializerContext;
