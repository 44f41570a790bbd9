using System.Globalization;
using CcatWorkflow.Core.Backends.Local;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>The kernel's cgroup files as the runner reads them (v1 and v2 formats, as the kernel writes them).</summary>
public sealed class CgroupFilesTests : IDisposable
{
    private readonly string _mount = Directory.CreateTempSubdirectory("ccat-cgroupfs-").FullName;

    public void Dispose() => Directory.Delete(_mount, recursive: true);

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_mount, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public void V1_oom_control_gives_the_kill_count()
    {
        const string text = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";

        Assert.Equal(2, CgroupFiles.ParseKeyed(text, "oom_kill"));
        Assert.Equal(0, CgroupFiles.ParseKeyed(text, "under_oom"));
    }

    [Fact]
    public void V1_oom_control_of_an_old_kernel_has_no_kill_count()
    {
        // before 4.13 the file had no oom_kill line: unknown, not zero
        Assert.Null(CgroupFiles.ParseKeyed("oom_kill_disable 0\nunder_oom 0\n", "oom_kill"));
    }

    [Fact]
    public void V2_memory_events_give_the_kill_count_and_the_limit_hits_without_confusing_oom_with_oom_kill()
    {
        const string text = "low 0\nhigh 0\nmax 17\noom 3\noom_kill 1\noom_group_kill 0\n";

        Assert.Equal(1, CgroupFiles.ParseKeyed(text, "oom_kill"));
        Assert.Equal(3, CgroupFiles.ParseKeyed(text, "oom"));
        Assert.Equal(17, CgroupFiles.ParseKeyed(text, "max"));
        Assert.Null(CgroupFiles.ParseKeyed(null, "oom_kill"));
    }

    [Theory]
    [InlineData("104857600\n", 104857600L)]
    [InlineData("0", 0L)]
    [InlineData("max\n", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    [InlineData("-1", null)]
    public void Single_number_files_parse_and_max_is_no_number(string? text, long? expected) =>
        Assert.Equal(expected, CgroupFiles.ParseNumber(text));

    [Fact]
    public void A_v1_process_cgroup_file_names_each_controllers_cgroup()
    {
        const string text = "9:name=systemd:/\n8:pids:/ccat-workflow/j1\n4:memory:/process_api/abc\n2:cpu,cpuacct:/x:y\n0::/\n";

        Assert.Equal("/process_api/abc", CgroupFiles.CgroupOf(text, "memory"));
        Assert.Equal("/ccat-workflow/j1", CgroupFiles.CgroupOf(text, "pids"));
        Assert.Equal("/x:y", CgroupFiles.CgroupOf(text, "cpuacct"));
        Assert.Equal("/", CgroupFiles.CgroupOf(text, null));
        Assert.Null(CgroupFiles.CgroupOf(text, "freezer"));
    }

    [Fact]
    public void A_v2_process_cgroup_file_has_one_unified_line()
    {
        Assert.Equal("/user.slice/user-1000.slice/session-3.scope", CgroupFiles.CgroupOf("0::/user.slice/user-1000.slice/session-3.scope\n", null));
        Assert.Null(CgroupFiles.CgroupOf("0::/a\n", "memory"));
    }

    [Fact]
    public void The_memory_hierarchy_is_v2_when_the_unified_mount_lists_the_controller()
    {
        Write("cgroup.controllers", "cpuset cpu io memory pids\n");

        Assert.Equal(new CgroupHierarchy(_mount, 2), CgroupFiles.MemoryHierarchy(_mount));
    }

    [Fact]
    public void The_memory_hierarchy_is_v1_where_the_controller_has_its_own_mount_beside_an_empty_unified_tree()
    {
        // this machine kind: v1 controllers, and a v2 "unified" tree without any
        Write("memory/memory.limit_in_bytes", "9223372036854771712\n");
        Write("unified/cgroup.controllers", "\n");

        Assert.Equal(new CgroupHierarchy(Path.Combine(_mount, "memory"), 1), CgroupFiles.MemoryHierarchy(_mount));
    }

    [Fact]
    public void A_hybrid_layout_with_memory_in_the_unified_tree_is_v2_there()
    {
        Write("pids/cgroup.procs", "1\n");
        Write("unified/cgroup.controllers", "memory pids\n");

        Assert.Equal(new CgroupHierarchy(Path.Combine(_mount, "unified"), 2), CgroupFiles.MemoryHierarchy(_mount));
    }

    [Fact]
    public void No_memory_controller_anywhere_means_no_hierarchy()
    {
        Write("unified/cgroup.controllers", "\n");
        Write("pids/cgroup.procs", "1\n");

        Assert.Null(CgroupFiles.MemoryHierarchy(_mount));
    }

    [Theory]
    // an OOM kill and the job did not succeed: OutOfMemory
    [InlineData(1L, 0L, 137, null, true)]
    [InlineData(1L, 5L, null, 9, true)]
    [InlineData(2L, 5L, 1, null, true)]
    // the job ended well although a child was killed: not a failure
    [InlineData(1L, 5L, 0, null, false)]
    // no OOM kill: exit 137 alone is no evidence (a kill -9 from someone else)
    [InlineData(0L, 0L, 137, null, false)]
    [InlineData(0L, 9L, null, 9, false)]
    // a kernel without the kill counter: the limit was hit and the job died by SIGKILL
    [InlineData(null, 3L, null, 9, true)]
    [InlineData(null, 3L, 137, null, true)]
    [InlineData(null, 0L, null, 9, false)]
    [InlineData(null, 3L, 1, null, false)]
    public void The_kernel_evidence_decides_out_of_memory(long? oomKills, long? failCount, int? exitCode, int? signal, bool expected) =>
        Assert.Equal(expected, new JobMemoryEvidence(123, oomKills, failCount).KilledForMemory(exitCode, signal));

    [Fact]
    public void A_job_memory_cgroup_is_made_with_its_limit_read_back_and_removed_where_this_process_may_make_one()
    {
        var id = "xunit-" + Guid.NewGuid().ToString("N");
        var cgroup = JobMemoryCgroup.TryCreate(id, 64L * 1024 * 1024, out var why);
        if (!MadeWhereWritable(cgroup, why, CgroupFiles.MemoryHierarchy())) return;
        try
        {
            var limitFile = cgroup.Version == 1 ? "memory.limit_in_bytes" : "memory.max";
            Assert.Equal((64L * 1024 * 1024).ToString(CultureInfo.InvariantCulture), File.ReadAllText(Path.Combine(cgroup.Path, limitFile)).Trim());
            var evidence = cgroup.ReadEvidence();
            Assert.Equal(0, evidence.OomKills);
            Assert.Empty(JobMemoryCgroup.Members(id));
        }
        finally
        {
            cgroup.Remove();
        }

        Assert.False(Directory.Exists(cgroup.Path));
    }

    /// <summary>
    /// A job cgroup's making, checked against whether this process may make one in
    /// <paramref name="hierarchy"/>: where it may not (not root, no delegation), none was made
    /// and a reason was given (false: nothing more to check); where it may, one was made (true).
    /// </summary>
    internal static bool MadeWhereWritable([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] JobLimitCgroup? cgroup, string? why, CgroupHierarchy? hierarchy)
    {
        if (hierarchy is null || !CgroupNative.IsWritable(hierarchy.Root))
        {
            Assert.Null(cgroup);
            Assert.False(string.IsNullOrEmpty(why));
            return false;
        }

        Assert.NotNull(cgroup);
        return true;
    }
}

/// <summary>Reading a cgroup's member list (<c>cgroup.procs</c>), as the runner does at every sample.</summary>
public sealed class CgroupProcsTests
{
    [Fact]
    public void Every_pid_is_read_also_across_the_read_buffer_and_without_a_final_newline()
    {
        var file = Path.GetTempFileName();
        try
        {
            // 3000 pids of 6-7 digits: several 4 KiB reads, numbers split between them
            var pids = Enumerable.Range(0, 3000).Select(i => 100000 + (i * 331)).ToList();
            File.WriteAllText(file, string.Join('\n', pids));

            Assert.Equal(pids, JobCgroup.ReadProcs(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_missing_cgroup_has_no_members() =>
        Assert.Empty(JobCgroup.ReadProcs(Path.Combine(Path.GetTempPath(), "ccat-no-such-cgroup", "cgroup.procs")));
}
