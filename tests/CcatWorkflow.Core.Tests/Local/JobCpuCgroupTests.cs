using CcatWorkflow.Core.Backends.Local;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>The CPU quota a Local job's <c>cpu</c> request becomes, where the CPU controller is found, and what the kernel reports back.</summary>
public sealed class JobCpuCgroupTests
{
    [Theory]
    [InlineData(1.0, 100_000L)]
    [InlineData(2.0, 200_000L)]
    [InlineData(0.5, 50_000L)]
    [InlineData(1.5, 150_000L)]
    [InlineData(4096.0, 409_600_000L)]
    // rounded up, never cut below the request
    [InlineData(0.333333, 33_334L)]
    // never under the kernel's 1 ms minimum
    [InlineData(0.001, 1_000L)]
    [InlineData(0.0001, 1_000L)]
    public void The_quota_is_the_cpus_times_the_100_ms_period(double cpus, long quota) =>
        Assert.Equal(quota, JobCpuCgroup.Quota(cpus));

    [Fact]
    public void The_v2_cpu_max_text_is_quota_then_period() =>
        Assert.Equal("50000 100000", JobCpuCgroup.CpuMaxText(JobCpuCgroup.Quota(0.5)));

    // What /proc/self/mounts says on the layouts the runner meets.
    private const string SeparateV1 = """
        tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
        cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
        cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
        cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
        cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
        cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
        """;

    private const string CoMountedV1 = """
        tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0
        cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0
        cgroup /sys/fs/cgroup/systemd cgroup rw,nosuid,nodev,noexec,relatime,xattr,name=systemd 0 0
        cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0
        cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0
        """;

    private const string PureV2 = """
        proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
        cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0
        """;

    [Fact]
    public void This_machine_kinds_own_cpu_mount_is_the_v1_hierarchy_not_cpuacct_beside_it() =>
        Assert.Equal(new CgroupHierarchy("/sys/fs/cgroup/cpu", 1), CgroupFiles.ControllerHierarchy(SeparateV1, "cpu", _ => true));

    [Fact]
    public void A_co_mounted_cpu_cpuacct_hierarchy_is_found_by_its_options_not_its_name()
    {
        Assert.Equal(new CgroupHierarchy("/sys/fs/cgroup/cpu,cpuacct", 1), CgroupFiles.ControllerHierarchy(CoMountedV1, "cpu", _ => true));
        Assert.Equal(new CgroupHierarchy("/sys/fs/cgroup/cpu,cpuacct", 1), CgroupFiles.ControllerHierarchy(CoMountedV1, "cpuacct", _ => true));
    }

    [Fact]
    public void Pure_v2_is_the_unified_mount_when_it_offers_the_controller()
    {
        Assert.Equal(new CgroupHierarchy("/sys/fs/cgroup", 2), CgroupFiles.ControllerHierarchy(PureV2, "cpu", root => root == "/sys/fs/cgroup"));
        Assert.Null(CgroupFiles.ControllerHierarchy(PureV2, "cpu", _ => false));
    }

    [Fact]
    public void A_hybrid_layout_without_a_v1_cpu_mount_uses_the_unified_tree_only_if_it_offers_cpu()
    {
        const string hybrid = """
            cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
            cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
            """;

        Assert.Null(CgroupFiles.ControllerHierarchy(hybrid, "cpu", _ => false));
        Assert.Equal(new CgroupHierarchy("/sys/fs/cgroup/unified", 2), CgroupFiles.ControllerHierarchy(hybrid, "cpu", _ => true));
    }

    [Fact]
    public void An_escaped_mount_point_is_decoded() =>
        Assert.Equal(new CgroupHierarchy("/mnt/my cgroups/cpu", 1),
            CgroupFiles.ControllerHierarchy(@"cgroup /mnt/my\040cgroups/cpu cgroup rw,cpu 0 0", "cpu", _ => false));

    [Fact]
    public void V1_cpu_stat_gives_the_throttled_periods_and_time_in_nanoseconds()
    {
        const string text = "nr_periods 52\nnr_throttled 48\nthrottled_time 4730000000\nnr_bursts 0\nburst_time 0\n";

        Assert.Equal(new JobCpuEvidence(52, 48, 4.73), JobCpuEvidence.Parse(text, 1));
    }

    [Fact]
    public void V2_cpu_stat_gives_the_throttled_periods_and_time_in_microseconds()
    {
        const string text = "usage_usec 9000000\nuser_usec 8900000\nsystem_usec 100000\nnr_periods 52\nnr_throttled 48\nthrottled_usec 4730000\n";

        Assert.Equal(new JobCpuEvidence(52, 48, 4.73), JobCpuEvidence.Parse(text, 2));
        Assert.Equal(new JobCpuEvidence(null, null, null), JobCpuEvidence.Parse(null, 2));
    }

    [Fact]
    public void The_cgroup_field_names_each_controller_and_marks_one_of_another_version()
    {
        Assert.Equal("none", JobCgroup.UseText([]));
        Assert.Equal("v1 pids+memory+cpu", JobCgroup.UseText([("pids", 1), ("memory", 1), ("cpu", 1)]));
        Assert.Equal("v1 pids+cpu (v2)", JobCgroup.UseText([("pids", 1), ("cpu", 2)]));
        Assert.Equal("v2 memory+cpu", JobCgroup.UseText([("memory", 2), ("cpu", 2)]));
    }

    [Fact]
    public void A_job_cpu_cgroup_is_made_with_its_quota_read_back_and_removed_where_this_process_may_make_one()
    {
        var id = "xunit-" + Guid.NewGuid().ToString("N");
        var cgroup = JobCpuCgroup.TryCreate(id, 0.5, out var why);
        if (!CgroupFilesTests.MadeWhereWritable(cgroup, why, CgroupFiles.CpuHierarchy())) return;
        try
        {
            string Read(string name) => File.ReadAllText(Path.Combine(cgroup.Path, name)).Trim();
            if (cgroup.Version == 1)
            {
                Assert.Equal("100000", Read("cpu.cfs_period_us"));
                Assert.Equal("50000", Read("cpu.cfs_quota_us"));
            }
            else
            {
                Assert.Equal("50000 100000", Read("cpu.max"));
            }

            var evidence = cgroup.ReadEvidence();
            Assert.Equal(0, evidence.ThrottledPeriods);
            Assert.Empty(JobCpuCgroup.Members(id));
        }
        finally
        {
            cgroup.Remove();
        }

        Assert.False(Directory.Exists(cgroup.Path));
    }

    [Fact]
    public void No_cpu_controller_in_the_mount_table_means_no_cpu_cgroup_and_a_reason()
    {
        var cgroup = JobCpuCgroup.TryCreate("xunit-none", 1, out var why, "proc /proc proc rw 0 0\n");

        Assert.Null(cgroup);
        Assert.Contains("cpu", why, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cpu_hierarchy_where_no_folder_can_be_made_gives_no_cpu_cgroup_and_a_reason()
    {
        // /proc takes no new folder, not even from root: as a hierarchy not writable to the runner
        var cgroup = JobCpuCgroup.TryCreate("xunit-unwritable", 1, out var why, "cgroup /proc/ccat-no-cgroup cgroup rw,cpu 0 0\n");

        Assert.Null(cgroup);
        Assert.False(string.IsNullOrEmpty(why));
        Assert.False(Directory.Exists("/proc/ccat-no-cgroup"));
    }
}
