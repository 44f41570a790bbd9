using System.Text.Json.Serialization;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>
/// The controller API of slurmrestd (<c>/slurm/v0.0.36</c> … <c>v0.0.38</c>, Slurm 21.08–22.05),
/// the few calls the module makes: ping, submit, jobs, job, cancel. Only the fields read are
/// declared; unknown ones are ignored and every integer is 64-bit (<see cref="FlexibleInt64Converter"/>).
/// </summary>
public static class SlurmApi
{
    /// <summary>The versions the module speaks, newest first.</summary>
    public static IReadOnlyList<string> Versions { get; } = ["v0.0.38", "v0.0.37", "v0.0.36"];

    /// <summary>One entry of <c>errors[]</c>: <c>error_number</c> or <c>error_code</c>, depending on the error.</summary>
    public sealed record ApiError
    {
        /// <summary>Slurm's text for the errno.</summary>
        [JsonPropertyName("error")]
        public string? Text { get; init; }

        /// <summary>What failed, in words.</summary>
        public string? Description { get; init; }

        /// <summary>Slurm's errno.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? ErrorNumber { get; init; }

        /// <summary>Slurm's errno, as some errors spell it.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? ErrorCode { get; init; }

        /// <summary>The Slurm call that failed.</summary>
        public string? Source { get; init; }

        /// <summary>The errno, whichever field carries it.</summary>
        [JsonIgnore]
        public long? Number => ErrorNumber ?? ErrorCode;

        /// <summary>Description and error text, for messages.</summary>
        public override string ToString() =>
            string.Join(": ", new[] { Description, Text }.Where(s => !string.IsNullOrWhiteSpace(s)).Distinct(StringComparer.Ordinal))
            + (Number is { } n ? $" (error {n})" : "");
    }

    /// <summary>Any answer: what matters first is <c>errors[]</c> (HTTP 200 can carry errors).</summary>
    public record ErrorsOnly
    {
        /// <summary>The errors.</summary>
        public IReadOnlyList<ApiError>? Errors { get; init; }
    }

    /// <summary><c>GET /slurm/vX/ping</c>.</summary>
    public sealed record PingResponse : ErrorsOnly
    {
        /// <summary>Each controller's answer.</summary>
        public IReadOnlyList<Ping>? Pings { get; init; }
    }

    /// <summary>One controller's answer to a ping.</summary>
    public sealed record Ping
    {
        /// <summary>The controller host.</summary>
        public string? Hostname { get; init; }

        /// <summary><c>UP</c> or <c>DOWN</c>.</summary>
        [JsonPropertyName("ping")]
        public string? State { get; init; }
    }

    /// <summary><c>POST /slurm/vX/job/submit</c>: the script and the job's properties (22.05 ignores <c>#SBATCH</c> lines).</summary>
    public sealed record SubmitRequest
    {
        /// <summary>The batch script.</summary>
        public required string Script { get; init; }

        /// <summary>The job's properties.</summary>
        public required JobProperties Job { get; init; }
    }

    /// <summary>The job properties the module sets (sbatch options by another name).</summary>
    public sealed record JobProperties
    {
        /// <summary>--job-name.</summary>
        public string? Name { get; init; }
        /// <summary>--comment.</summary>
        public string? Comment { get; init; }
        /// <summary>--chdir (default <c>/</c>, where a normal user's job cannot write: always sent).</summary>
        public string? CurrentWorkingDirectory { get; init; }
        /// <summary>--output.</summary>
        public string? StandardOutput { get; init; }
        /// <summary>--error.</summary>
        public string? StandardError { get; init; }
        /// <summary>--array.</summary>
        public string? Array { get; init; }
        /// <summary>--dependency.</summary>
        public string? Dependency { get; init; }
        /// <summary>--kill-on-invalid-dep.</summary>
        public bool? KillOnInvalidDependency { get; init; }
        /// <summary>--cpus-per-task.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? CpusPerTask { get; init; }
        /// <summary>--mem, in MiB.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? MemoryPerNode { get; init; }
        /// <summary>--mem-per-cpu, in MiB.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? MemoryPerCpu { get; init; }
        /// <summary>--time, in minutes.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? TimeLimit { get; init; }
        /// <summary>--gpus.</summary>
        public string? Gpus { get; init; }
        /// <summary>--gres.</summary>
        public string? Gres { get; init; }
        /// <summary>--partition.</summary>
        public string? Partition { get; init; }
        /// <summary>--account.</summary>
        public string? Account { get; init; }
        /// <summary>--qos.</summary>
        public string? Qos { get; init; }
        /// <summary>--constraint.</summary>
        public string? Constraints { get; init; }
        /// <summary>--reservation.</summary>
        public string? Reservation { get; init; }
        /// <summary>--ntasks.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? Tasks { get; init; }
        /// <summary>--nice.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? Nice { get; init; }
        /// <summary>--wckey.</summary>
        public string? Wckey { get; init; }
        /// <summary>--licenses.</summary>
        public string? Licenses { get; init; }
        /// <summary>--mail-type.</summary>
        public string? MailType { get; init; }
        /// <summary>--mail-user.</summary>
        public string? MailUser { get; init; }
        /// <summary>--requeue / --no-requeue.</summary>
        public bool? Requeue { get; init; }
        /// <summary>--exclusive.</summary>
        public string? Exclusive { get; init; }
        /// <summary>The job's whole environment (required by 22.05, an object; nothing of the caller's is added).</summary>
        public required IReadOnlyDictionary<string, string> Environment { get; init; }
    }

    /// <summary>The answer to a submission.</summary>
    public sealed record SubmitResponse : ErrorsOnly
    {
        /// <summary>The new job's id.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? JobId { get; init; }

        /// <summary>A message the site's job_submit plugin has for the user.</summary>
        public string? JobSubmitUserMsg { get; init; }
    }

    /// <summary>
    /// A list of jobs, in the one shape both families answer with: <c>GET /slurm/vX/jobs</c> and
    /// <c>/job/{id}</c> (<typeparamref name="TJob"/> = <see cref="Job"/>), and
    /// <c>GET /slurmdb/vX/jobs</c> and <c>/job/{id}</c> (<see cref="SlurmDbApi.DbJob"/>).
    /// </summary>
    /// <typeparam name="TJob">The family's job record.</typeparam>
    public sealed record JobsResponse<TJob> : ErrorsOnly
    {
        /// <summary>The jobs.</summary>
        public IReadOnlyList<TJob>? Jobs { get; init; }
    }

    /// <summary>One job as the controller holds it (what squeue shows).</summary>
    public sealed record Job
    {
        /// <summary>The job's own (raw) id.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? JobId { get; init; }
        /// <summary>The array's id, 0 when not an array.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? ArrayJobId { get; init; }
        /// <summary>The element's index; null for the pending rest of an array.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? ArrayTaskId { get; init; }
        /// <summary>The indexes still pending (<c>3-9%2</c>), on the array's own record.</summary>
        public string? ArrayTaskString { get; init; }
        /// <summary>The job name.</summary>
        public string? Name { get; init; }
        /// <summary>PENDING, RUNNING, COMPLETED, FAILED…</summary>
        public string? JobState { get; init; }
        /// <summary>Why it waits.</summary>
        public string? StateReason { get; init; }
        /// <summary>The raw wait status (768 is exit 3, 9 is SIGKILL): right here, unlike slurmdb's.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? ExitCode { get; init; }
        /// <summary>Epoch seconds.</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? SubmitTime { get; init; }
        /// <summary>Epoch seconds (the expected start while pending).</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? StartTime { get; init; }
        /// <summary>Epoch seconds (the expected end while running).</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? EndTime { get; init; }
        /// <summary>The working directory (the module's job folder).</summary>
        public string? CurrentWorkingDirectory { get; init; }
        /// <summary>The output file pattern (<c>%j</c> unexpanded).</summary>
        public string? StandardOutput { get; init; }
        /// <summary>The error file pattern.</summary>
        public string? StandardError { get; init; }
        /// <summary>The job's priority: an unsigned 32-bit value (4294901649 is common).</summary>
        [JsonConverter(typeof(FlexibleInt64Converter))]
        public long? Priority { get; init; }
        /// <summary>The owner.</summary>
        public string? UserName { get; init; }
        /// <summary>The comment.</summary>
        public string? Comment { get; init; }
    }
}
