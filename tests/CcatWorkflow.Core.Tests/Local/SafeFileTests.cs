using CcatWorkflow.Core.Backends.Local;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>
/// Job files other users may have written are read carefully (docs/security.md): no symlink,
/// regular files only, capped; the runner's lock says whether it lives; the kill evidence is
/// only what no other user can forge.
/// </summary>
public sealed class SafeFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ccat-safefile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_record_symlinked_to_dev_zero_is_refused_without_reading_it()
    {
        var path = Path.Combine(_dir, "record.json");
        File.CreateSymbolicLink(path, "/dev/zero");

        var e = Assert.Throws<IOException>(() => SafeFile.ReadCapped(path));

        Assert.Contains("symbolic link", e.Message);
    }

    [Fact]
    public async Task A_fifo_is_refused_at_once_instead_of_blocking_the_reader()
    {
        var path = Path.Combine(_dir, "record.json");
        using (var mk = System.Diagnostics.Process.Start("mkfifo", path)) mk.WaitForExit();

        var read = Task.Run(() => SafeFile.ReadCapped(path));

        Assert.Same(read, await Task.WhenAny(read, Task.Delay(TimeSpan.FromMinutes(1)))); // a hang, not a timing
        var e = await Assert.ThrowsAsync<IOException>(() => read);
        Assert.Contains("not a regular file", e.Message);
    }

    [Fact]
    public void A_file_over_the_cap_is_refused_and_one_within_it_is_read_whole()
    {
        var big = Path.Combine(_dir, "big.json");
        var small = Path.Combine(_dir, "small.json");
        File.WriteAllBytes(big, new byte[SafeFile.RecordCap + 1]);
        File.WriteAllText(small, "{\"id\":\"x\"}");

        Assert.Throws<IOException>(() => SafeFile.ReadCapped(big));
        Assert.Equal("{\"id\":\"x\"}", SafeFile.ReadCappedText(small));
        Assert.Null(SafeFile.ReadCapped(Path.Combine(_dir, "missing.json")));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(300_000)]
    [InlineData(SafeFile.RecordCap)]
    public void A_file_of_any_size_within_the_cap_is_read_whole(int size)
    {
        var path = Path.Combine(_dir, "record.json");
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);

        Assert.Equal(bytes, SafeFile.ReadCapped(path));
    }

    [Fact]
    public void A_kernel_file_that_says_it_is_empty_is_read_whole()
    {
        const string path = "/proc/self/maps"; // size 0 in stat; a .NET process maps far more than a page of it
        Assert.Equal(0, new FileInfo(path).Length);

        var text = SafeFile.ReadCappedText(path);

        Assert.Equal(File.ReadAllText(path).Split('\n')[0], text!.Split('\n')[0]);
        Assert.True(text.Length > 4096 && text.EndsWith('\n'), $"{text.Length} characters");
    }

    [Fact]
    public void Folders_made_for_jobs_are_0700_with_their_missing_parents()
    {
        var deep = Path.Combine(_dir, "a", "b", "jobs");

        SafeFile.CreatePrivateDirectory(deep);

        foreach (var d in new[] { Path.Combine(_dir, "a"), Path.Combine(_dir, "a", "b"), deep })
        {
            Assert.Equal(0x1C0, SafeFile.Stat(d)!.Value.Mode & 0x1FF); // 0700
        }
    }

    [Fact]
    public void The_runner_lock_reads_held_while_locked_and_free_once_released()
    {
        var job = new LocalJobDirectory(_dir);
        Assert.Equal(RunnerLockState.Absent, job.ProbeLock());

        var fd = SafeFile.OpenForLock(job.FilePath(LocalJobDirectory.LockFile), create: true);
        Assert.True(fd >= 0);
        using (var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true))
        {
            Assert.Equal(0, LocalNative.Flock(handle, LocalNative.LOCK_EX | LocalNative.LOCK_NB));
            Assert.Equal(RunnerLockState.Held, job.ProbeLock());
            Assert.Equal(RunnerLockState.Held, job.ProbeLock()); // probing takes nothing away
        }

        Assert.Equal(RunnerLockState.Free, job.ProbeLock());
    }

    [Fact]
    public void A_process_that_merely_has_a_job_id_in_its_environment_is_not_the_jobs()
    {
        var (id, job) = NewJob();
        var psi = new System.Diagnostics.ProcessStartInfo("sleep", "600") { UseShellExecute = false };
        psi.Environment[JobSessionKiller.JobIdVariable] = id;
        using var impostor = System.Diagnostics.Process.Start(psi)!;
        try
        {
            var (pids, evidence) = JobSessionKiller.Members(job);

            Assert.DoesNotContain(impostor.Id, pids);
            Assert.Contains("the job folder's owner", evidence);
        }
        finally
        {
            impostor.Kill();
        }
    }

    [Fact]
    public void A_process_holding_the_jobs_lock_file_open_and_run_by_the_folders_owner_is_the_jobs()
    {
        var (_, job) = NewJob();
        // The mark as the runner hands it on: an inherited descriptor (here fd 7 of a shell).
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec 7<\"$1\"; exec sleep 600");
        psi.ArgumentList.Add("sh");
        psi.ArgumentList.Add(job.FilePath(LocalJobDirectory.LockFile));
        using var marked = System.Diagnostics.Process.Start(psi)!;
        try
        {
            List<int> pids = [];
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while ((pids = JobSessionKiller.Members(job).Pids).Count == 0 && DateTime.UtcNow < deadline) Thread.Sleep(50);

            Assert.Equal(new[] { marked.Id }, pids);
        }
        finally
        {
            marked.Kill();
        }
    }

    /// <summary>A job folder (0700) with its lock file, as a runner leaves it.</summary>
    private (string Id, LocalJobDirectory Dir) NewJob()
    {
        var id = Guid.NewGuid().ToString("D");
        var job = new LocalJobDirectory(Path.Combine(_dir, id));
        job.Create();
        File.WriteAllText(job.FilePath(LocalJobDirectory.LockFile), "");
        return (id, job);
    }
}
