namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// <c>job.json</c>: the submission as the runner executes it. Written once by the submitter
/// before the runner starts; never changed.
/// </summary>
internal sealed record LocalJobSpec
{
    /// <summary>Format version of the file.</summary>
    public int Version { get; init; } = 1;

    /// <summary>The job id (lower-case UUID).</summary>
    public required string Id { get; init; }

    /// <summary>The job name.</summary>
    public required string Name { get; init; }

    /// <summary>The shell command line, run as <c>/bin/sh -c</c>.</summary>
    public required string Command { get; init; }

    /// <summary>Variables set on top of the submitting process's environment, in order.</summary>
    public IReadOnlyList<LocalEnvironmentVariable> Environment { get; init; } = [];

    /// <summary>
    /// Names of the secret variables. Their values are not in this file: the submitter hands
    /// them to the runner over its stdin (<see cref="LocalSecretChannel"/>), and the runner adds
    /// them to the job's environment.
    /// </summary>
    public IReadOnlyList<string> SecretEnvironmentNames { get; init; } = [];

    /// <summary>The working directory of the command (the job directory).</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>When the job was submitted.</summary>
    public required DateTimeOffset SubmittedAt { get; init; }

    /// <summary>The host name of the submitter (the runner runs there too).</summary>
    public required string SubmitHost { get; init; }

    /// <summary>The submitter's boot id: tells whether "no runner yet" can be judged here.</summary>
    public string? SubmitBootId { get; init; }

    /// <summary>The submitter's pid namespace.</summary>
    public string? SubmitPidNamespace { get; init; }

    /// <summary>Seconds between TERM and KILL when the runner ends the job's processes.</summary>
    public double CancelGraceSeconds { get; init; } = 5;

    /// <summary>Requested CPUs (recorded, not enforced).</summary>
    public int? Cpu { get; init; }

    /// <summary>Memory limit in GiB: the runner kills the job when its processes' resident memory passes it.</summary>
    public double? MemoryGb { get; init; }

    /// <summary>Time limit in hours: the runner ends the job when it runs longer.</summary>
    public double? TimeHours { get; init; }

    /// <summary>Requested GPUs (recorded, not enforced).</summary>
    public int? Gpu { get; init; }

    /// <summary>The SIF the command runs, if the caller named one.</summary>
    public string? SifPath { get; init; }

    /// <summary>The image reference, if any.</summary>
    public string? ImageRef { get; init; }

    /// <summary>Input directory of the container contract.</summary>
    public string? InputDir { get; init; }

    /// <summary>Output directory of the container contract.</summary>
    public string? OutputDir { get; init; }

    /// <summary>Workspace directory of the container contract.</summary>
    public string? WorkspaceDir { get; init; }

    /// <summary>Manifest file of the container contract.</summary>
    public string? ManifestPath { get; init; }

    /// <summary>For a job array: its indices in Slurm's syntax (<c>0-99</c>); the runner of the array starts one element per index.</summary>
    public string? ArrayIndex { get; init; }

    /// <summary>For a job array: at most this many elements run at once (null: no limit).</summary>
    public int? ThrottleLimit { get; init; }

    /// <summary>For an element of a job array: the array's id (this job's id is <c>&lt;array&gt;_&lt;index&gt;</c>).</summary>
    public string? ArrayJobId { get; init; }

    /// <summary>For an element of a job array: its index (the job sees it in CCAT_ARRAY_INDEX).</summary>
    public int? ArrayTaskIndex { get; init; }

    /// <summary>The jobs this one waits for (canonical Local ids; an array's id means all its elements).</summary>
    public IReadOnlyList<string>? DependsOn { get; init; }

    /// <summary>With <see cref="DependsOn"/>: the condition's name (AfterOk, AfterAny, AfterNotOk).</summary>
    public string? DependencyCondition { get; init; }

    /// <summary>For a re-run of the failed elements of an array (Submit-CcatJob -RetryFailed): the original array's id.</summary>
    public string? RetryOf { get; init; }
}

/// <summary>One environment variable of a job.</summary>
/// <param name="Name">The variable's name.</param>
/// <param name="Value">Its value.</param>
internal sealed record LocalEnvironmentVariable(string Name, string Value);
