#nullable enable
// The smallest complete backend: a worked example of the contract for new authors, used by the
// contract suite (BackendContract) and registered as a fourth backend by the Pester test
// tests/pester/FourthBackend.Tests.ps1 (which compiles this very file with Add-Type, so it keeps
// to plain C# with explicit usings).
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using CcatWorkflow;
using CcatWorkflow.Core;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Logs;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Tests.Contract
{
    /// <summary>
    /// The registration: the kind (its name is what -Backend and HPC_BACKEND accept), the one
    /// setting this backend owns, and the factory. Registering it (BackendRegistry.Register) is
    /// all it takes: no enum, switch, schema or message elsewhere names the backend.
    /// </summary>
    public sealed class InMemoryBackendDescriptor : BackendDescriptor
    {
        /// <summary>The kind, defined by name.</summary>
        public static readonly HPCBackendKind InMemory = HPCBackendKind.Define("InMemory");

        /// <inheritdoc />
        public override HPCBackendKind Kind => InMemory;

        /// <inheritdoc />
        public override IReadOnlyList<string> Aliases => new[] { "memory" };

        /// <inheritdoc />
        public override IReadOnlyList<SettingDefinition> Settings { get; } = new[]
        {
            new SettingDefinition("INMEMORY_SECONDS_PER_SLEEP", SettingType.Float, 1.0,
                "The in-memory test backend: how long 'sleep 1' runs, in seconds.") { Min = 0, Max = 60 },
        };

        /// <inheritdoc />
        public override HPCBackend Create(CcatSettings settings) =>
            new InMemoryBackend(TimeSpan.FromSeconds(settings.GetFloat("INMEMORY_SECONDS_PER_SLEEP")));
    }

    /// <summary>
    /// Runs nothing: a job's command is read as "[sleep N;] [echo TEXT;]… [exit K]" (the same
    /// command means the same on the real backends' /bin/sh). It runs for N × the sleep unit,
    /// prints each TEXT on a line of stdout and ends with K (0 = completed). Only the
    /// primitives are written here; the shared rules (ids trimmed, deduplicated and checked,
    /// every id answered in order, unknown ids JobNotFound, submissions validated) are the base's.
    /// </summary>
    public sealed class InMemoryBackend : HPCBackend
    {
        private static readonly Regex Sleep = new(@"sleep\s+(\d+(?:\.\d+)?)", RegexOptions.CultureInvariant);
        private static readonly Regex Echo = new(@"echo\s+([^;]*)", RegexOptions.CultureInvariant);
        private static readonly Regex Exit = new(@"exit\s+(\d+)", RegexOptions.CultureInvariant);
        private static readonly Regex IdForm = new(@"^mem-[0-9]+$", RegexOptions.CultureInvariant);

        private readonly ConcurrentDictionary<string, Job> _jobs = new(StringComparer.Ordinal);
        private readonly TimeSpan _sleepUnit;
        private int _next;

        /// <summary>Creates an empty backend.</summary>
        public InMemoryBackend(TimeSpan sleepUnit) => _sleepUnit = sleepUnit;

        /// <summary>When true, every call throws SchedulerUnavailable (the "could not be asked" case).</summary>
        public bool Unavailable { get; set; }

        /// <inheritdoc />
        public override HPCBackendKind Kind => InMemoryBackendDescriptor.InMemory;

        /// <inheritdoc />
        public override string? NormalizeJobId(string jobId) => IdForm.IsMatch(jobId) ? jobId : null;

        /// <inheritdoc />
        protected override string JobIdForm => "an in-memory job id (mem-<number>)";

        /// <inheritdoc />
        public override Task<string> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken)
        {
            Ask();
            var id = "mem-" + Interlocked.Increment(ref _next);
            var command = submission.ExecutionCommand;
            var sleep = Sleep.Match(command);
            var exit = Exit.Match(command);
            _jobs[id] = new Job(id, submission.JobName, DateTimeOffset.UtcNow,
                sleep.Success ? TimeSpan.FromTicks((long)(double.Parse(sleep.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * _sleepUnit.Ticks)) : TimeSpan.Zero,
                string.Concat(Echo.Matches(command).Select(m => m.Groups[1].Value.Trim() + "\n")),
                exit.Success ? int.Parse(exit.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0);
            return Task.FromResult(id);
        }

        /// <inheritdoc />
        public override string DescribeSubmission(JobSubmission submission) =>
            "# in memory: " + submission.ExecutionCommand + "\n";

        /// <inheritdoc />
        public override Task<IReadOnlyList<JobQueryResult>> GetStatusesAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
        {
            Ask();
            // One result per id; an id left out would be reported JobNotFound by the base, but
            // saying so here keeps the message the backend's own.
            IReadOnlyList<JobQueryResult> results = jobIds.Select(id => _jobs.TryGetValue(id, out var job)
                ? new JobQueryResult(id, job.Info(Kind, DateTimeOffset.UtcNow), null)
                : new JobQueryResult(id, null, JobNotFound(id))).ToList();
            return Task.FromResult(results);
        }

        /// <inheritdoc />
        public override Task<IReadOnlyList<JobQueryResult>> CancelManyAsync(IReadOnlyList<string> jobIds, CancellationToken cancellationToken)
        {
            Ask();
            var now = DateTimeOffset.UtcNow;
            IReadOnlyList<JobQueryResult> results = jobIds.Select(id =>
            {
                if (!_jobs.TryGetValue(id, out var job)) return new JobQueryResult(id, null, JobNotFound(id));
                // A finished job is left as it is: cancelling it is not an error.
                if (!job.Info(Kind, now).IsFinished) job.CancelledAt = now;
                return new JobQueryResult(id, null, null);
            }).ToList();
            return Task.FromResult(results);
        }

        /// <inheritdoc />
        public override Task<string> GetLogsAsync(string jobId, LogQuery query, CancellationToken cancellationToken)
        {
            Ask();
            if (!_jobs.TryGetValue(jobId, out var job)) throw JobNotFound(jobId);
            var text = query.Stream == LogStream.Error ? "" : job.Output(DateTimeOffset.UtcNow);
            return Task.FromResult(query.Tail is int tail ? LogText.TailLines(text, tail) : text);
        }

        // FollowLogsAsync: the base's polling default (GetLogsAsync + status until finished).

        /// <inheritdoc />
        public override Task<IReadOnlyList<HPCJobInfo>> ListJobsAsync(CancellationToken cancellationToken)
        {
            Ask();
            var now = DateTimeOffset.UtcNow;
            IReadOnlyList<HPCJobInfo> list = _jobs.Values.Select(j => j.Info(Kind, now)).ToList();
            return Task.FromResult(list);
        }

        private void Ask()
        {
            if (Unavailable)
            {
                throw new CcatException(CcatErrorId.SchedulerUnavailable, "The in-memory scheduler is switched off.");
            }
        }

        private sealed class Job
        {
            public Job(string id, string name, DateTimeOffset submittedAt, TimeSpan runFor, string stdout, int exitCode)
            {
                Id = id;
                Name = name;
                SubmittedAt = submittedAt;
                RunFor = runFor;
                Stdout = stdout;
                ExitCode = exitCode;
            }

            public string Id { get; }

            public string Name { get; }

            public DateTimeOffset SubmittedAt { get; }

            public TimeSpan RunFor { get; }

            public string Stdout { get; }

            public int ExitCode { get; }

            public DateTimeOffset? CancelledAt { get; set; }

            private DateTimeOffset NaturalEnd => SubmittedAt + RunFor;

            // The output appears when the job ends on its own (a cancelled job printed nothing).
            public string Output(DateTimeOffset now) => CancelledAt is null && now >= NaturalEnd ? Stdout : "";

            public HPCJobInfo Info(HPCBackendKind kind, DateTimeOffset now)
            {
                if (CancelledAt is DateTimeOffset c && c < NaturalEnd)
                {
                    // Metrics not measured are null, never a made-up zero.
                    return new HPCJobInfo(Id, kind, HPCJobStatus.Failed, Name, reason: HPCJobReason.Cancelled,
                        submittedAt: SubmittedAt, startedAt: SubmittedAt, finishedAt: c, wallTimeSeconds: (c - SubmittedAt).TotalSeconds);
                }

                if (now < NaturalEnd)
                {
                    return new HPCJobInfo(Id, kind, HPCJobStatus.Running, Name, submittedAt: SubmittedAt, startedAt: SubmittedAt);
                }

                return new HPCJobInfo(Id, kind, ExitCode == 0 ? HPCJobStatus.Completed : HPCJobStatus.Failed, Name, exitCode: ExitCode,
                    reason: ExitCode == 0 ? HPCJobReason.None : HPCJobReason.NonZeroExit,
                    submittedAt: SubmittedAt, startedAt: SubmittedAt, finishedAt: NaturalEnd, wallTimeSeconds: RunFor.TotalSeconds);
            }
        }
    }
}
