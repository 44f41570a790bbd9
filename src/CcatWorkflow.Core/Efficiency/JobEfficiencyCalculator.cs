namespace CcatWorkflow.Core.Efficiency;

/// <summary>
/// Requested-versus-used arithmetic of Measure-CcatJob. Pure: no backend, no clock.
/// <list type="bullet">
/// <item>CPU efficiency = CpuHours / (CPUs × wall hours), CPUs being the request, else what the
/// backend allocated (AllocatedCpuHours / wall hours).</item>
/// <item>Memory efficiency = peak / requested memory. Time used = wall time / time limit.</item>
/// <item>Verdict: below <see cref="OverAskedBelow"/> OverAsked; from <see cref="AtLimitFrom"/>
/// (or ended for that resource: OutOfMemory, Timeout) AtLimit; Fine between.</item>
/// <item>Summary (finished jobs only): median and p95 (linear interpolation between order
/// statistics, as numpy's default) of used and of efficiency; suggested request = p95 used ×
/// <see cref="Margin"/> rounded up to what the schedulers take — whole CPUs (no margin: a CPU
/// is whole), multiples of 256 MiB, whole minutes — and never below what the same rule gives
/// for the largest request of a job at its limit (its use may have been cut short there).</item>
/// </list>
/// </summary>
public static class JobEfficiencyCalculator
{
    /// <summary>Used fraction below which a request is called over-asked.</summary>
    public const double OverAskedBelow = 0.5;

    /// <summary>Used fraction from which a request is called at its limit.</summary>
    public const double AtLimitFrom = 0.9;

    /// <summary>Headroom over the p95 use in a suggested memory or time request.</summary>
    public const double Margin = 1.2;

    /// <summary>Memory suggestions are multiples of this many GiB (256 MiB: Slurm's M and Kubernetes' Mi take it exactly).</summary>
    public const double MemoryStepGb = 0.25;

    /// <summary>Measures one job.</summary>
    public static JobEfficiency Measure(HPCJobInfo job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var wallHours = job.WallTimeSeconds is > 0 and var w ? w / 3600.0 : (double?)null;

        double? cpus = job.RequestedCpu is { } rc ? rc
            : job.AllocatedCpuHours is { } alloc && wallHours is { } wh1 && alloc > 0 ? alloc / wh1 : null;
        double? cpuEff = job.CpuHours is { } used && cpus is > 0 && wallHours is { } wh ? used / (cpus.Value * wh) : null;
        double? memEff = job.PeakMemoryGb is { } peak && job.RequestedMemoryGb is > 0 and var reqMem ? peak / reqMem : null;
        double? timeUsed = job.WallTimeSeconds is { } wall && job.RequestedTimeHours is > 0 and var reqTime ? wall / (reqTime * 3600.0) : null;

        return new JobEfficiency(job, cpus,
            cpuEff, Verdict(cpuEff, endedForIt: false),
            memEff, Verdict(memEff, job.Reason == HPCJobReason.OutOfMemory && job.RequestedMemoryGb is not null),
            timeUsed, Verdict(timeUsed, job.Reason == HPCJobReason.Timeout && job.RequestedTimeHours is not null));
    }

    /// <summary>The verdict for a used fraction; null when there is none.</summary>
    public static ResourceVerdict? Verdict(double? usedFraction, bool endedForIt)
    {
        if (endedForIt) return ResourceVerdict.AtLimit;
        return usedFraction switch
        {
            null => null,
            < OverAskedBelow => ResourceVerdict.OverAsked,
            >= AtLimitFrom => ResourceVerdict.AtLimit,
            _ => ResourceVerdict.Fine,
        };
    }

    /// <summary>One row per resource over the finished jobs among <paramref name="measured"/>.</summary>
    public static IReadOnlyList<JobEfficiencySummary> Summarize(IEnumerable<JobEfficiency> measured)
    {
        ArgumentNullException.ThrowIfNull(measured);
        var done = measured.Where(m => m.Job.IsFinished).ToList();

        var cpuUsed = done.Select(m => m.Job.CpuHours is { } h && m.Job.WallTimeSeconds is > 0 and var w ? h / (w / 3600.0) : (double?)null);
        var cpu = Row(JobResource.Cpu, "cpu", "cores", done, cpuUsed, m => m.CpuEfficiency, m => m.CpuVerdict, m => m.Job.RequestedCpu,
            p95 => Math.Max(1, Math.Ceiling(p95 - 1e-9)));

        var mem = Row(JobResource.Memory, "memory_gb", "GiB", done, done.Select(m => m.Job.PeakMemoryGb), m => m.MemoryEfficiency, m => m.MemoryVerdict,
            m => m.Job.RequestedMemoryGb, p95 => RoundUp(p95 * Margin, MemoryStepGb));

        var time = Row(JobResource.Time, "time_hours", "hours", done, done.Select(m => m.Job.WallTimeSeconds / 3600.0), m => m.TimeUsed, m => m.TimeVerdict,
            m => m.Job.RequestedTimeHours, p95 => RoundUp(p95 * Margin, 1.0 / 60));

        return [cpu, mem, time];
    }

    private static JobEfficiencySummary Row(JobResource resource, string key, string unit, List<JobEfficiency> done, IEnumerable<double?> usedAmounts,
        Func<JobEfficiency, double?> efficiency, Func<JobEfficiency, ResourceVerdict?> verdict, Func<JobEfficiency, double?> requested,
        Func<double, double> suggest)
    {
        var used = usedAmounts.OfType<double>().ToList();
        var eff = done.Select(efficiency).OfType<double>().ToList();
        var verdicts = done.Select(verdict).ToList();
        var atLimit = verdicts.Count(v => v == ResourceVerdict.AtLimit);
        double? suggestion = used.Count == 0 ? null : suggest(Percentile(used, 0.95));
        var largestAtLimit = done.Where(m => verdict(m) == ResourceVerdict.AtLimit).Select(requested).OfType<double>().DefaultIfEmpty().Max();
        // A job at its limit may have been cut short there: the request it had, with the same
        // headroom, is the least to suggest.
        if (suggestion is { } s && largestAtLimit > 0) suggestion = Math.Max(s, suggest(largestAtLimit));
        return new JobEfficiencySummary(resource, key, unit, used.Count,
            used.Count == 0 ? null : Percentile(used, 0.5), used.Count == 0 ? null : Percentile(used, 0.95),
            eff.Count == 0 ? null : Percentile(eff, 0.5), eff.Count == 0 ? null : Percentile(eff, 0.95),
            verdicts.Count(v => v == ResourceVerdict.OverAsked), atLimit, suggestion);
    }

    /// <summary>
    /// The <paramref name="p"/> quantile (0..1) by linear interpolation between order statistics
    /// (Hyndman–Fan type 7, numpy's and R's default).
    /// </summary>
    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException("No values.", nameof(values));
        if (p is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(p));
        var sorted = values.OrderBy(v => v).ToArray();
        var h = (sorted.Length - 1) * p;
        var lo = (int)Math.Floor(h);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <summary>Rounds up to a multiple of <paramref name="step"/> (at least one step).</summary>
    public static double RoundUp(double value, double step) =>
        Math.Max(step, Math.Ceiling(value / step - 1e-9) * step);
}
