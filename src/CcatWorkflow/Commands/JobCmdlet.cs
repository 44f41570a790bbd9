using System.Management.Automation;
using CcatWorkflow.Core;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands;

/// <summary>
/// Base of the cmdlets that address existing jobs: by <c>-JobId</c> (with <c>-Backend</c>), by
/// property name from any object with JobId/Backend properties, or by the
/// <see cref="HPCJobInfo"/> objects themselves. Every id of the call is collected, so a
/// pipeline of hundreds of jobs becomes one batch call per backend in EndProcessing.
/// </summary>
public abstract class JobCmdlet : CcatCmdlet
{
    private protected const string ByIdSet = "ById";
    private protected const string ByObjectSet = "ByObject";

    private readonly List<JobTarget> _targets = [];
    private readonly HashSet<(string, HPCBackendKind)> _seen = [];

    /// <summary>The backend-specific ids of the jobs (Slurm job id, Kubernetes Job name, Local UUID); bare strings from the pipeline bind here.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByIdSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("Id")]
    [ArgumentCompleter(typeof(Completion.JobIdCompleter))]
    public string[] JobId { get; set; } = [];

    /// <summary>The backend that owns the jobs; default: the configured HPC_BACKEND.</summary>
    [Parameter(ParameterSetName = ByIdSet, ValueFromPipelineByPropertyName = true)]
    [BackendArgument]
    public HPCBackendKind? Backend { get; set; }

    /// <summary>Jobs as returned by Submit-CcatJob, Get-CcatJob or Get-CcatJobStatus.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public HPCJobInfo[] InputObject { get; set; } = [];

    /// <summary>
    /// For each target that is a job array's id, its elements as the last
    /// <see cref="QueryStatuses"/> read them (the info it returned is then the array's summary):
    /// an array id means all its elements.
    /// </summary>
    private protected Dictionary<JobTarget, IReadOnlyList<HPCJobInfo>> ArrayElements { get; } = [];

        /// <summary>The jobs collected so far, in the order given, without repeats.</summary>
    private protected IReadOnlyList<JobTarget> Targets => _targets;

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        // A refusal noted by a command line that never ran is not this call's.
        _ = BackendArgumentAttribute.TakeRefused();
        base.BeginProcessing();
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName == ByObjectSet)
        {
            foreach (var job in InputObject)
            {
                Add(new JobTarget(job.JobId, job.Backend, job));
            }
        }
        else if (BackendArgumentAttribute.TakeRefused() is { } refused)
        {
            // A piped object named a backend that does not exist: an error, never the default.
            foreach (var id in JobId)
            {
                WriteCcatError(CcatErrorId.UnknownBackend,
                    $"Job '{id}' names backend '{refused}', which is not a backend; valid backends: {BackendRegistry.ValidNames}.", id);
            }
        }
        else
        {
            var backend = Backend ?? Settings.Backend;
            foreach (var id in JobId)
            {
                Add(new JobTarget(id.Trim(), backend, id));
            }
        }
    }

    private void Add(JobTarget target)
    {
        if (_seen.Add((target.JobId, target.Backend)))
        {
            _targets.Add(target);
        }
    }

    /// <summary>
    /// Asks each backend once (one batch call per backend) for the status of
    /// <paramref name="targets"/>. A backend that cannot be asked yields its exception for each
    /// of its jobs; a job the backend does not know yields its per-job error.
    /// </summary>
    /// <param name="targets">The jobs.</param>
    /// <param name="deadline">When set, no backend call outlasts it: a call still running then is stopped and yields <see cref="CcatErrorId.WaitTimeout"/>.</param>
    private protected Dictionary<JobTarget, (HPCJobInfo? Info, CcatException? Error)> QueryStatuses(IEnumerable<JobTarget> targets, DateTime? deadline = null)
    {
        var outcome = new Dictionary<JobTarget, (HPCJobInfo?, CcatException?)>();
        foreach (var group in targets.GroupBy(t => t.Backend))
        {
            var backend = GetBackend(group.Key);
            var list = group.ToList();
            try
            {
                var ids = list.Select(t => t.JobId).ToList();
                var start = System.Diagnostics.Stopwatch.GetTimestamp();
                var results = RunSync(ct => backend.QueryJobsAsync(ids, ct), deadline - DateTime.UtcNow, $"The {backend.Kind} backend")
                    .ToDictionary(r => r.JobId, StringComparer.Ordinal);
                WriteVerboseTimed($"{backend.Kind}: status of {ids.Count} job{(ids.Count == 1 ? "" : "s")}", start,
                    $"{results.Values.Count(r => r.Info is not null)} answered, {results.Values.Count(r => r.Error is not null)} with an error");
                foreach (var t in list)
                {
                    if (results.TryGetValue(t.JobId, out var withElements) && withElements.Elements is { } elements)
                    {
                        ArrayElements[t] = elements;
                    }

                    outcome[t] = results.TryGetValue(t.JobId, out var r)
                        ? (r.Info, r.Error)
                        : (null, new CcatException(CcatErrorId.JobNotFound, $"The {backend.Kind} backend returned nothing for job '{t.JobId}'.", t.JobId));
                }
            }
            catch (CcatException ex)
            {
                WriteVerbose($"{backend.Kind}: could not be asked ({ex.ErrorId}): {ex.Message}");
                foreach (var t in list)
                {
                    outcome[t] = (null, ex);
                }
            }
        }

        return outcome;
    }
}
