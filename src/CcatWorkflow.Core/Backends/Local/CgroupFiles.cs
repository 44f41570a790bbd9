using System.Globalization;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Reading the kernel's cgroup files: where the memory controller is mounted (cgroup v1's own
/// hierarchy or the v2 unified tree), which cgroup a process is in, and the counters the memory
/// controller keeps. Pure parsing, so each format is pinned by a test; the files are read with
/// <see cref="SafeFile.ReadCappedText"/>.
/// </summary>
internal static class CgroupFiles
{
    /// <summary>Where cgroup file systems are mounted.</summary>
    public const string Mount = "/sys/fs/cgroup";

    /// <summary>
    /// The memory controller's hierarchy under <paramref name="mount"/>: cgroup v2 when the mount
    /// is the unified tree and lists <c>memory</c> in <c>cgroup.controllers</c>; cgroup v1 when
    /// <c>memory/memory.limit_in_bytes</c> exists; v2 again for a hybrid layout whose
    /// <c>unified</c> tree holds the controller. Null when there is none.
    /// </summary>
    public static CgroupHierarchy? MemoryHierarchy(string mount = Mount)
    {
        if (HasController(Path.Combine(mount, "cgroup.controllers"), "memory")) return new CgroupHierarchy(mount, 2);
        var v1 = Path.Combine(mount, "memory");
        if (File.Exists(Path.Combine(v1, "memory.limit_in_bytes"))) return new CgroupHierarchy(v1, 1);
        var hybrid = Path.Combine(mount, "unified");
        return HasController(Path.Combine(hybrid, "cgroup.controllers"), "memory") ? new CgroupHierarchy(hybrid, 2) : null;
    }

    /// <summary>
    /// The CPU controller's hierarchy, from the mount table (<c>/proc/self/mounts</c> unless
    /// <paramref name="mountsText"/> is given): see <see cref="ControllerHierarchy"/>. Null when there is none.
    /// </summary>
    public static CgroupHierarchy? CpuHierarchy(string? mountsText = null) =>
        (mountsText ?? ReadText("/proc/self/mounts")) is { } text
            ? ControllerHierarchy(text, "cpu", root => HasController(Path.Combine(root, "cgroup.controllers"), "cpu"))
            : null;

    /// <summary>
    /// Where <paramref name="controller"/> is mounted, read from a mount table's text: the
    /// cgroup v1 mount whose options list it — on its own (<c>…/cpu</c>) or co-mounted with
    /// others (<c>…/cpu,cpuacct</c>, options <c>rw,cpu,cpuacct</c>) — else the first cgroup2
    /// mount whose root lists it as available (<paramref name="unifiedHas"/>: its
    /// <c>cgroup.controllers</c>). A controller serves one hierarchy at a time, so a v1 mount
    /// that has it means the v2 tree (a hybrid layout's <c>unified</c>) does not.
    /// </summary>
    public static CgroupHierarchy? ControllerHierarchy(string mountsText, string controller, Func<string, bool> unifiedHas)
    {
        var unified = new List<string>();
        foreach (var line in mountsText.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // device mount-point type options dump pass; the mount point escapes spaces as \040
            var fields = line.Split(' ');
            if (fields.Length < 4) continue;
            var mountPoint = UnescapeMountField(fields[1]);
            if (fields[2] == "cgroup" && fields[3].Split(',').Contains(controller)) return new CgroupHierarchy(mountPoint, 1);
            if (fields[2] == "cgroup2") unified.Add(mountPoint);
        }

        foreach (var root in unified)
        {
            if (unifiedHas(root)) return new CgroupHierarchy(root, 2);
        }

        return null;
    }

    /// <summary>A mount table field with its octal escapes (<c>\040</c> for a space, …) decoded.</summary>
    private static string UnescapeMountField(string field)
    {
        if (!field.Contains('\\')) return field;
        var text = new System.Text.StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';

    private static bool HasController(string controllersFile, string controller) =>
        ReadText(controllersFile) is { } text && text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Contains(controller);

    /// <summary>
    /// The cgroup (path relative to the hierarchy's root) that <c>/proc/&lt;pid&gt;/cgroup</c>
    /// names for <paramref name="controller"/> (cgroup v1: the line listing it), or for the
    /// unified tree when <paramref name="controller"/> is null (the <c>0::</c> line).
    /// </summary>
    public static string? CgroupOf(string procCgroupText, string? controller)
    {
        foreach (var line in procCgroupText.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // hierarchy-ID:controller-list:path (the path may itself hold ':')
            var first = line.IndexOf(':');
            var second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            if (second < 0) continue;
            var controllers = line[(first + 1)..second];
            var path = line[(second + 1)..];
            var matches = controller is null
                ? line[..first] == "0" && controllers.Length == 0
                : controllers.Split(',').Contains(controller);
            if (matches) return path.Length > 0 ? path : "/";
        }

        return null;
    }

    /// <summary>A file of one number (<c>memory.max_usage_in_bytes</c>, <c>memory.peak</c>, <c>memory.failcnt</c>); null for <c>max</c> or anything else.</summary>
    public static long? ParseNumber(string? text) =>
        long.TryParse(text?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>
    /// A flat keyed file of "name value" lines (v1 <c>memory.oom_control</c>, v2
    /// <c>memory.events</c>): the value of <paramref name="key"/>, or null when the file has no such line.
    /// </summary>
    public static long? ParseKeyed(string? text, string key)
    {
        if (text is null) return null;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var space = line.IndexOf(' ');
            if (space > 0 && line.AsSpan(0, space).SequenceEqual(key)) return ParseNumber(line[(space + 1)..]);
        }

        return null;
    }

    /// <summary>A cgroup file's text, or null when it cannot be read (gone, not permitted).</summary>
    public static string? ReadText(string path)
    {
        try
        {
            return SafeFile.ReadCappedText(path, 64 * 1024);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>
/// What a job's CPU cgroup says at the end (its <c>cpu.stat</c>): how often the kernel held the
/// job back at its quota, and for how long.
/// </summary>
/// <param name="Periods">Enforcement periods that elapsed while the job could run (<c>nr_periods</c>).</param>
/// <param name="ThrottledPeriods">Periods in which the job used up its quota and was held back (<c>nr_throttled</c>).</param>
/// <param name="ThrottledSeconds">How long it was held back in all (v1 <c>throttled_time</c> in ns, v2 <c>throttled_usec</c>).</param>
internal sealed record JobCpuEvidence(long? Periods, long? ThrottledPeriods, double? ThrottledSeconds)
{
    /// <summary>The evidence in a <c>cpu.stat</c> file's text of cgroup <paramref name="version"/> (1 or 2).</summary>
    public static JobCpuEvidence Parse(string? cpuStat, int version)
    {
        double? seconds = version == 1
            ? CgroupFiles.ParseKeyed(cpuStat, "throttled_time") / 1e9
            : CgroupFiles.ParseKeyed(cpuStat, "throttled_usec") / 1e6;
        return new JobCpuEvidence(CgroupFiles.ParseKeyed(cpuStat, "nr_periods"), CgroupFiles.ParseKeyed(cpuStat, "nr_throttled"), seconds);
    }
}

/// <summary>A mounted cgroup hierarchy: its root folder and the cgroup version (1 or 2).</summary>
internal sealed record CgroupHierarchy(string Root, int Version);

/// <summary>
/// What a job's memory cgroup says at the end: the kernel's peak and its out-of-memory kills.
/// </summary>
/// <param name="PeakBytes">v1 <c>memory.max_usage_in_bytes</c>, v2 <c>memory.peak</c> (kernel 5.19+); null when the kernel keeps none.</param>
/// <param name="OomKills">v1 <c>oom_kill</c> of <c>memory.oom_control</c> (kernel 4.13+), v2 <c>oom_kill</c> of <c>memory.events</c>; null when not kept.</param>
/// <param name="FailCount">v1 <c>memory.failcnt</c>, v2 <c>max</c> of <c>memory.events</c>: how often the limit was hit (also by reclaimable cache).</param>
internal sealed record JobMemoryEvidence(long? PeakBytes, long? OomKills, long? FailCount)
{
    /// <summary>
    /// True when the kernel ended the job for its memory: it OOM-killed at least one of the
    /// job's processes and the job did not succeed. A kernel without the kill counter counts
    /// only a SIGKILL death after the limit was hit — never exit 137 alone.
    /// </summary>
    public bool KilledForMemory(int? exitCode, int? signal)
    {
        if (exitCode == 0 && signal is null) return false;
        if (OomKills is { } kills) return kills > 0;
        return FailCount > 0 && (signal == LocalNative.SIGKILL || exitCode == 128 + LocalNative.SIGKILL);
    }
}
