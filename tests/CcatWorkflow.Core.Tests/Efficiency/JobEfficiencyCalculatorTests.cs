using CcatWorkflow.Core.Efficiency;

namespace CcatWorkflow.Core.Tests.Efficiency;

/// <summary>Measure-CcatJob's figures against values worked out by hand (within 1 %).</summary>
public class JobEfficiencyCalculatorTests
{
    private static HPCJobInfo Job(string id, double? wallSeconds, double? cpuHours = null, double? peakGb = null,
        int? cpu = null, double? memGb = null, double? hours = null, double? allocatedCpuHours = null,
        HPCJobStatus status = HPCJobStatus.Completed, HPCJobReason reason = HPCJobReason.None) =>
        new(id, HPCBackendKind.Local, status, "calib-" + id, wallTimeSeconds: wallSeconds, cpuHours: cpuHours, peakMemoryGb: peakGb,
            reason: reason, allocatedCpuHours: allocatedCpuHours, requestedCpu: cpu, requestedMemoryGb: memGb, requestedTimeHours: hours);

    private static void Near(double expected, double? actual) =>
        Assert.True(actual is { } a && Math.Abs(a - expected) <= Math.Abs(expected) * 0.01, $"expected {expected} ±1 %, got {actual}");

    [Fact]
    public void Efficiencies_are_used_over_requested_per_resource()
    {
        // 4 CPUs for 1 h with 3 CPU-hours used: 3 / (4 × 1) = 0.75; 2 of 8 GiB = 0.25; 1 of 2 h = 0.5.
        var m = JobEfficiencyCalculator.Measure(Job("a", 3600, cpuHours: 3.0, peakGb: 2.0, cpu: 4, memGb: 8, hours: 2));
        Near(0.75, m.CpuEfficiency);
        Near(0.25, m.MemoryEfficiency);
        Near(0.5, m.TimeUsed);
        Assert.Equal(ResourceVerdict.Fine, m.CpuVerdict);
        Assert.Equal(ResourceVerdict.OverAsked, m.MemoryVerdict);
        Assert.Equal(ResourceVerdict.Fine, m.TimeVerdict);
    }

    [Fact]
    public void Without_a_cpu_request_the_allocated_cpus_are_the_reference()
    {
        // Allocated 2 core-hours over 0.5 h = 4 CPUs; 1.9 / (4 × 0.5) = 0.95: at the limit.
        var m = JobEfficiencyCalculator.Measure(Job("b", 1800, cpuHours: 1.9, allocatedCpuHours: 2.0));
        Near(4, m.Cpus);
        Near(0.95, m.CpuEfficiency);
        Assert.Equal(ResourceVerdict.AtLimit, m.CpuVerdict);
    }

    [Fact]
    public void Nothing_asked_means_no_figure_and_no_verdict()
    {
        var m = JobEfficiencyCalculator.Measure(Job("c", 60, cpuHours: 0.01, peakGb: 0.1));
        Assert.Null(m.CpuEfficiency);
        Assert.Null(m.MemoryEfficiency);
        Assert.Null(m.TimeUsed);
        Assert.Null(m.MemoryVerdict);
    }

    [Fact]
    public void A_job_ended_for_a_resource_is_at_its_limit_whatever_was_measured()
    {
        var oom = JobEfficiencyCalculator.Measure(Job("d", 100, peakGb: 1.0, memGb: 4, status: HPCJobStatus.Failed, reason: HPCJobReason.OutOfMemory));
        var late = JobEfficiencyCalculator.Measure(Job("e", 3000, hours: 1, status: HPCJobStatus.Failed, reason: HPCJobReason.Timeout));
        Assert.Equal(ResourceVerdict.AtLimit, oom.MemoryVerdict);
        Assert.Equal(ResourceVerdict.AtLimit, late.TimeVerdict);
    }

    [Theory]
    [InlineData(0.49, ResourceVerdict.OverAsked)]
    [InlineData(0.5, ResourceVerdict.Fine)]
    [InlineData(0.89, ResourceVerdict.Fine)]
    [InlineData(0.9, ResourceVerdict.AtLimit)]
    [InlineData(1.3, ResourceVerdict.AtLimit)]
    public void Verdict_thresholds(double used, ResourceVerdict expected) =>
        Assert.Equal(expected, JobEfficiencyCalculator.Verdict(used, endedForIt: false));

    [Fact]
    public void Percentiles_interpolate_between_order_statistics()
    {
        // [1..5]: median 3; p95 at rank 0.95 × 4 = 3.8 → 4 + 0.8 × (5 − 4) = 4.8.
        double[] v = [5, 1, 4, 2, 3];
        Near(3, JobEfficiencyCalculator.Percentile(v, 0.5));
        Near(4.8, JobEfficiencyCalculator.Percentile(v, 0.95));
        Near(7, JobEfficiencyCalculator.Percentile([7], 0.95));
    }

    [Fact]
    public void Summary_gives_median_p95_and_a_rounded_suggestion_over_finished_jobs()
    {
        double[] peaks = [1, 2, 3, 4, 10];
        double[] walls = [600, 1200, 1800, 2400, 3000];
        double[] cores = [0.5, 1, 1.5, 2, 3.5];
        var jobs = Enumerable.Range(0, 5)
            .Select(i => Job("j" + i, walls[i], cpuHours: cores[i] * walls[i] / 3600, peakGb: peaks[i], cpu: 4, memGb: 16, hours: 1))
            .Append(Job("running", 99999, cpuHours: 999, peakGb: 999, cpu: 4, memGb: 16, hours: 1, status: HPCJobStatus.Running))
            .Select(JobEfficiencyCalculator.Measure).ToList();

        var rows = JobEfficiencyCalculator.Summarize(jobs).ToDictionary(r => r.Resource);

        var mem = rows[JobResource.Memory];
        Assert.Equal(5, mem.Jobs);
        Near(3, mem.MedianUsed);
        Near(8.8, mem.P95Used);                 // 4 + 0.8 × 6
        Near(3.0 / 16, mem.MedianEfficiency);
        Near(8.8 / 16, mem.P95Efficiency);
        Near(10.75, mem.SuggestedRequest);      // 8.8 × 1.2 = 10.56 → next 0.25 GiB
        Assert.Equal("memory_gb", mem.ResourceKey);
        Assert.Equal(4, mem.OverAskedJobs);     // 1, 2, 3, 4 of 16 are below half; 10/16 is fine

        var time = rows[JobResource.Time];
        Near(0.5, time.MedianUsed);
        Near(0.8, time.P95Used);                // 2/3 + 0.8 × 1/6 h
        Near(58.0 / 60, time.SuggestedRequest); // 0.96 h = 57.6 min → 58 min

        var cpu = rows[JobResource.Cpu];
        Near(1.5, cpu.MedianUsed);
        Near(3.2, cpu.P95Used);                 // 2 + 0.8 × 1.5 cores
        Near(4, cpu.SuggestedRequest);          // whole CPUs, rounded up
        Near(1.5 / 4, cpu.MedianEfficiency);
    }

    [Fact]
    public void A_job_ended_at_its_memory_limit_keeps_the_suggestion_at_least_its_request_with_margin()
    {
        var jobs = new[] { 1.0, 1.0, 1.0, 1.0 }.Select((p, i) => Job("s" + i, 60, peakGb: p, memGb: 12))
            .Append(Job("oom", 60, peakGb: 11.9, memGb: 12, status: HPCJobStatus.Failed, reason: HPCJobReason.OutOfMemory))
            .Select(JobEfficiencyCalculator.Measure);

        var mem = JobEfficiencyCalculator.Summarize(jobs).Single(r => r.Resource == JobResource.Memory);
        Near(9.72, mem.P95Used);                // 1 + 0.8 × 10.9
        Assert.Equal(1, mem.AtLimitJobs);
        Near(14.5, mem.SuggestedRequest);       // max(9.72 × 1.2 → 11.75, 12 × 1.2 = 14.4 → 14.5)
    }

    [Fact]
    public void An_empty_set_suggests_nothing()
    {
        var rows = JobEfficiencyCalculator.Summarize([]);
        Assert.All(rows, r => Assert.Null(r.SuggestedRequest));
        Assert.All(rows, r => Assert.Equal(0, r.Jobs));
    }
}
