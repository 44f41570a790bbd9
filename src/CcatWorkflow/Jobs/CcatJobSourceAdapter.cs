using System.Management.Automation;

namespace CcatWorkflow.Commands.Jobs;

/// <summary>
/// Makes this module's HPC jobs PowerShell jobs: registered by Import-Module (PowerShell
/// registers every exported JobSourceAdapter of a module's assembly), it answers Get-Job,
/// Receive-Job, Wait-Job, Stop-Job and Remove-Job with <see cref="CcatJob"/> objects: the jobs
/// this session made with -AsJob, and the newest jobs of the configured backend, so a new
/// session sees the jobs another one submitted (<see cref="CcatJobTable"/>).
/// </summary>
public sealed class CcatJobSourceAdapter : JobSourceAdapter
{
    /// <summary>Creates the adapter (PowerShell does, on Import-Module).</summary>
    public CcatJobSourceAdapter() => Name = CcatJob.JobTypeName;

    /// <summary>Not supported: Submit-CcatJob -AsJob makes the jobs.</summary>
    public override Job2 NewJob(JobInvocationInfo specification) =>
        throw new NotSupportedException("CcatWorkflow jobs are made by Submit-CcatJob -AsJob and Wait-CcatJob -AsJob.");

    /// <inheritdoc />
    public override IList<Job2> GetJobs() => [.. CcatJobTable.List()];

    /// <inheritdoc />
    public override IList<Job2> GetJobsByName(string name, bool recurse)
    {
        var pattern = WildcardPattern.Get(name, WildcardOptions.IgnoreCase);
        return [.. CcatJobTable.List().Where(j => pattern.IsMatch(j.Name))];
    }

    /// <inheritdoc />
    public override IList<Job2> GetJobsByCommand(string command, bool recurse)
    {
        var pattern = WildcardPattern.Get(command, WildcardOptions.IgnoreCase);
        return [.. CcatJobTable.List().Where(j => pattern.IsMatch(j.Command))];
    }

    /// <inheritdoc />
    public override Job2? GetJobByInstanceId(Guid instanceId, bool recurse) =>
        CcatJobTable.Find(instanceId) ?? CcatJobTable.List().FirstOrDefault(j => j.InstanceId == instanceId);

    /// <inheritdoc />
    /// <remarks>Session ids exist only for jobs this session already has: nothing is listed.</remarks>
    public override Job2? GetJobBySessionId(int id, bool recurse) => CcatJobTable.Find(id);

    /// <inheritdoc />
    public override IList<Job2> GetJobsByState(JobState state, bool recurse) =>
        [.. CcatJobTable.List().Where(j => j.JobStateInfo.State == state)];

    /// <inheritdoc />
    /// <remarks>Each key names a property of the job (Name, JobId, Backend, State, ...); strings match as wildcards.</remarks>
    public override IList<Job2> GetJobsByFilter(Dictionary<string, object> filter, bool recurse)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return [.. CcatJobTable.List().Where(j => filter.All(f => Matches(j, f.Key, f.Value)))];
    }

    private static bool Matches(CcatJob job, string property, object? wanted)
    {
        var value = property.Equals("State", StringComparison.OrdinalIgnoreCase)
            ? job.JobStateInfo.State
            : PSObject.AsPSObject(job).Properties[property]?.Value;
        if (value is null) return wanted is null;
        if (wanted is PSObject p) wanted = p.BaseObject;
        return wanted is string s
            ? WildcardPattern.Get(s, WildcardOptions.IgnoreCase).IsMatch(value.ToString() ?? "")
            : LanguagePrimitives.Equals(value, wanted, true, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    /// <remarks>Forgets the PowerShell job in this process; the HPC job and its record stay (Remove-CcatJob removes those).</remarks>
    public override void RemoveJob(Job2 job)
    {
        if (job is CcatJob ccat) CcatJobTable.Remove(ccat);
    }
}
