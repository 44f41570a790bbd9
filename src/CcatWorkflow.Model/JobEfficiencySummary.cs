namespace CcatWorkflow;

/// <summary>
/// One resource over a set of finished jobs (Measure-CcatJob -Summary): what they used, how
/// much of their request that was, and what to ask for next time. Immutable.
/// </summary>
public sealed class JobEfficiencySummary
{
    /// <summary>Creates a summary row.</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="resourceKey">The -Resources key the suggestion is for (cpu, memory_gb, time_hours).</param>
    /// <param name="unit">The unit of the used and suggested amounts.</param>
    /// <param name="jobs">How many jobs had the resource measured.</param>
    /// <param name="medianUsed">Median amount used.</param>
    /// <param name="p95Used">95th percentile of the amount used.</param>
    /// <param name="medianEfficiency">Median of used / requested.</param>
    /// <param name="p95Efficiency">95th percentile of used / requested.</param>
    /// <param name="overAskedJobs">Jobs whose verdict was OverAsked.</param>
    /// <param name="atLimitJobs">Jobs whose verdict was AtLimit.</param>
    /// <param name="suggestedRequest">What to ask for: p95 used × the margin, rounded to what the schedulers take.</param>
    public JobEfficiencySummary(JobResource resource, string resourceKey, string unit, int jobs, double? medianUsed, double? p95Used,
        double? medianEfficiency, double? p95Efficiency, int overAskedJobs, int atLimitJobs, double? suggestedRequest)
    {
        Resource = resource;
        ResourceKey = resourceKey;
        Unit = unit;
        Jobs = jobs;
        MedianUsed = medianUsed;
        P95Used = p95Used;
        MedianEfficiency = medianEfficiency;
        P95Efficiency = p95Efficiency;
        OverAskedJobs = overAskedJobs;
        AtLimitJobs = atLimitJobs;
        SuggestedRequest = suggestedRequest;
    }

    /// <summary>The resource.</summary>
    public JobResource Resource { get; }

    /// <summary>The -Resources key the suggestion is for: cpu, memory_gb or time_hours.</summary>
    public string ResourceKey { get; }

    /// <summary>Unit of the used and suggested amounts: cores, GiB or hours.</summary>
    public string Unit { get; }

    /// <summary>How many jobs had the resource measured.</summary>
    public int Jobs { get; }

    /// <summary>Median amount used (cores busy on average, peak GiB, wall hours).</summary>
    public double? MedianUsed { get; }

    /// <summary>95th percentile of the amount used.</summary>
    public double? P95Used { get; }

    /// <summary>Median of used / requested, over the jobs that asked.</summary>
    public double? MedianEfficiency { get; }

    /// <summary>95th percentile of used / requested.</summary>
    public double? P95Efficiency { get; }

    /// <summary>Jobs that used less than half of their request.</summary>
    public int OverAskedJobs { get; }

    /// <summary>Jobs that used 90 % or more of their request, or were ended for reaching it.</summary>
    public int AtLimitJobs { get; }

    /// <summary>
    /// The suggested request, in <see cref="Unit"/>: p95 used × a margin, rounded up to what
    /// the schedulers take (whole CPUs without margin, 256 MiB, whole minutes); never below
    /// what the same rule gives for the largest request of a job at its limit.
    /// </summary>
    public double? SuggestedRequest { get; }

    /// <inheritdoc />
    public override string ToString() => $"{ResourceKey}: suggest {SuggestedRequest} {Unit} (p95 used {P95Used}) over {Jobs} jobs";
}
