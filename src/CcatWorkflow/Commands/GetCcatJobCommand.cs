using System.Management.Automation;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands;

/// <summary>
/// <para type="synopsis">Lists the jobs this module submitted that a backend still knows.</para>
/// <para type="description">Lists the jobs of one backend (default: the configured HPC_BACKEND), newest first, with their current status. Filter by -Status, by -Name and by -JobId (several values, wildcards allowed), and by age with -OlderThan (30d, 12h, 2w or a TimeSpan: a finished job counts from when it ended, an unfinished one from its submission). Get-CcatJob -OlderThan 30d | Remove-CcatJob is the cleanup routine. Listing never deletes anything unless JOB_RETENTION_DAYS is set (Kubernetes records whose Job is gone, older than that many days).</para>
/// </summary>
/// <example>
/// <code>Get-CcatJob</code>
/// <para>Lists the jobs of the configured backend, newest first.</para>
/// </example>
/// <example>
/// <code>Get-CcatJob -Name 'calib-*', 'flat-*' -Status Failed</code>
/// <para>The failed jobs whose names start with calib- or flat-.</para>
/// </example>
/// <example>
/// <code>Get-CcatJob -Backend Slurm -Status Failed -First 10</code>
/// <para>The ten newest failed Slurm jobs this module submitted.</para>
/// </example>
/// <example>
/// <code>Get-CcatJob -OlderThan 30d | Remove-CcatJob</code>
/// <para>Removes every job that ended more than 30 days ago, with its record and files.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "CcatJob", HelpUri = HelpLinks.Online)]
[OutputType(typeof(HPCJobInfo))]
public sealed class GetCcatJobCommand : CcatCmdlet
{
    /// <summary>The backend to list; default: the configured HPC_BACKEND.</summary>
    [Parameter(Position = 0)]
    public HPCBackendKind? Backend { get; set; }

    /// <summary>Only jobs in these states.</summary>
    [Parameter]
    public HPCJobStatus[]? Status { get; set; }

    /// <summary>Only jobs whose name matches one of these names (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completion.JobNameCompleter))]
    public string[]? Name { get; set; }

    /// <summary>Only jobs whose id matches one of these ids (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [Alias("Id")]
    [ArgumentCompleter(typeof(Completion.JobIdCompleter))]
    public string[]? JobId { get; set; }

    /// <summary>
    /// Only jobs older than this: a finished job by when it ended, an unfinished one by when it
    /// was submitted. Takes 30d, 12h, 90m, 2w or any TimeSpan.
    /// </summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? OlderThan { get; set; }

    /// <summary>At most this many jobs (the newest).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int First { get; set; } = int.MaxValue;

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        // Checked before the backend is asked: a bad pattern is the caller's error, not the backend's.
        List<WildcardPattern>? names, ids;
        try
        {
            names = Patterns(Name, "-Name");
            ids = Patterns(JobId, "-JobId");
        }
        catch (CcatException ex)
        {
            WriteCcatError(ex, ex.JobId);
            return;
        }

        var backend = GetBackend(Backend);
        IReadOnlyList<HPCJobInfo> jobs;
        try
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            jobs = OlderThan is { } age
                ? RunSync(ct => backend.ListIncludingOlderAsync(DateTimeOffset.UtcNow - age, ct))
                : RunSync(ct => backend.ListAsync(ct));
            WriteVerboseTimed($"{backend.Kind}: list jobs", start, $"{jobs.Count} jobs");
        }
        catch (CcatException ex)
        {
            WriteCcatError(ex, backend.Kind.ToString());
            return;
        }

        var now = DateTimeOffset.UtcNow;
        var selected = jobs
            .Where(j => Status is null || Status.Contains(j.Status))
            .Where(j => names is null || names.Any(p => p.IsMatch(j.JobName ?? "")))
            .Where(j => ids is null || ids.Any(p => p.IsMatch(j.JobId)))
            .Where(j => OlderThan is not { } age || (j.IsFinished ? j.FinishedAt ?? j.SubmittedAt : j.SubmittedAt) is { } t && t < now - age)
            .Take(First);
        foreach (var job in selected)
        {
            WriteObject(job);
        }
    }

    private static List<WildcardPattern>? Patterns(string[]? values, string parameter) =>
        values?.Select(v =>
        {
            var pattern = new WildcardPattern(v.Trim(), WildcardOptions.IgnoreCase);
            try
            {
                _ = pattern.IsMatch(""); // parsed here: '[' without ']' throws
            }
            catch (WildcardPatternException e)
            {
                throw new CcatException(CcatErrorId.InvalidJobName,
                    $"{parameter} '{v}' is not a valid wildcard pattern ({e.Message}); write a literal '[' as '`['.", v);
            }

            return pattern;
        }).ToList();
}
