using System.Globalization;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// A job's cgroup in one controller's hierarchy, <c>&lt;hierarchy&gt;/ccat-workflow/&lt;job id&gt;</c>,
/// made to hold a kernel-enforced limit (<see cref="JobMemoryCgroup"/>, <see cref="JobCpuCgroup"/>).
/// What every such cgroup shares lives here: making it (v2: the controller enabled down the
/// tree), moving the runner in for the job's start and back out, and removing it at the end.
/// On cgroup v2 every controller lives in one tree, so a job's memory and CPU cgroups are the
/// same folder: it is made once, kept by whichever made it, and read before either removes it.
/// <para>
/// Only the job is charged, not its runner: the runner enters just to start the job's shell
/// (which inherits the cgroup) and goes back to its own cgroup at once.
/// </para>
/// </summary>
internal abstract class JobLimitCgroup
{
    private readonly string _controller;
    private string? _home;

    /// <param name="hierarchy">The controller's hierarchy.</param>
    /// <param name="path">The cgroup's folder.</param>
    /// <param name="controller">The controller, as cgroup v1 names it in <c>/proc/self/cgroup</c>.</param>
    protected JobLimitCgroup(CgroupHierarchy hierarchy, string path, string controller)
    {
        Hierarchy = hierarchy;
        Path = path;
        _controller = controller;
    }

    /// <summary>The cgroup's folder.</summary>
    public string Path { get; }

    /// <summary>The cgroup version of its hierarchy (1 or 2).</summary>
    public int Version => Hierarchy.Version;

    /// <summary>The hierarchy the cgroup is in.</summary>
    protected CgroupHierarchy Hierarchy { get; }

    /// <summary>The job's cgroup folder in <paramref name="hierarchy"/> (it may not exist).</summary>
    public static string PathOf(CgroupHierarchy hierarchy, string jobId) => System.IO.Path.Combine(hierarchy.Root, JobCgroup.Parent, jobId);

    /// <summary>
    /// Makes the job's cgroup in <paramref name="hierarchy"/> and has <paramref name="writeLimits"/>
    /// write its limit files into it. Returns its folder, or null with the reason when it cannot
    /// be made (not writable); a folder this call made is removed again on failure (one another
    /// controller's cgroup made in the same v2 folder is left alone).
    /// </summary>
    protected static string? TryMake(CgroupHierarchy hierarchy, string jobId, string controller, Action<string> writeLimits, out string? why)
    {
        why = null;
        var path = PathOf(hierarchy, jobId);
        var existed = Directory.Exists(path);
        try
        {
            var parent = System.IO.Path.Combine(hierarchy.Root, JobCgroup.Parent);
            Directory.CreateDirectory(parent);
            if (hierarchy.Version == 2)
            {
                // v2 hands a controller down only where each parent enables it for its children.
                Enable(hierarchy.Root, controller);
                Enable(parent, controller);
            }

            Directory.CreateDirectory(path);
            writeLimits(path);
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = e.Message;
            if (!existed) TryRemoveFolder(path);
            return null;
        }
    }

    private static void Enable(string cgroup, string controller)
    {
        var control = System.IO.Path.Combine(cgroup, "cgroup.subtree_control");
        if (CgroupFiles.ReadText(control)?.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Contains(controller) == true) return;
        File.WriteAllText(control, "+" + controller);
    }

    /// <summary>
    /// Moves the calling process into the cgroup, so that the next process it starts is born
    /// in it; <see cref="Leave"/> right after the start. False (with the reason) when the move failed.
    /// </summary>
    public bool Enter(out string? why)
    {
        why = null;
        try
        {
            _home = CgroupFiles.ReadText("/proc/self/cgroup") is { } text
                ? CgroupFiles.CgroupOf(text, Version == 1 ? _controller : null)
                : null;
            File.WriteAllText(System.IO.Path.Combine(Path, "cgroup.procs"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = e.Message;
            return false;
        }
    }

    /// <summary>Moves the calling process back to the cgroup it came from (else the hierarchy's root). False when it could not.</summary>
    public bool Leave()
    {
        var self = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        foreach (var target in new[] { _home, "/" })
        {
            if (target is null) continue;
            try
            {
                File.WriteAllText(System.IO.Path.Combine(Hierarchy.Root + target.TrimEnd('/'), "cgroup.procs"), self);
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // its home is gone or closed to us: the root, then
            }
        }

        return false;
    }

    /// <summary>Removes the cgroup once its processes have ended (the kernel refuses while any is left).</summary>
    public void Remove()
    {
        for (var i = 0; i < 20 && Directory.Exists(Path); i++)
        {
            if (TryRemoveFolder(Path)) return;
            Thread.Sleep(50); // the last member's exit is still being torn down
        }
    }

    /// <summary>Removes a folder (an empty cgroup); false when the kernel refused.</summary>
    protected static bool TryRemoveFolder(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
