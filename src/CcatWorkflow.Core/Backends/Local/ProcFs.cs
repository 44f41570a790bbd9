using System.Globalization;
using System.Text;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Reads process facts from Linux /proc: start times (the PID-reuse guard), the boot id and
/// pid namespace (is a recorded pid even meaningful here), and process trees for sampling
/// memory and for killing a job's leftovers.
/// </summary>
internal static class ProcFs
{
    private static readonly Lazy<string?> BootIdValue = new(() => ReadTrimmed("/proc/sys/kernel/random/boot_id"));
    private static readonly Lazy<string?> PidNamespaceValue = new(() =>
    {
        try
        {
            return new FileInfo("/proc/self/ns/pid").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    });

    /// <summary>This machine's boot id: a pid recorded under another boot id means nothing now.</summary>
    public static string? BootId => BootIdValue.Value;

    /// <summary>This process's pid namespace (<c>pid:[4026531836]</c>): pids are only comparable inside one.</summary>
    public static string? PidNamespace => PidNamespaceValue.Value;

    /// <summary>The page size, for turning RSS pages into bytes.</summary>
    public static long PageSize { get; } = Environment.SystemPageSize;

    /// <summary>The stat line of one process, or null when it does not exist.</summary>
    public static ProcStat? TryReadStat(int pid)
    {
        Span<byte> buffer = stackalloc byte[1024];
        var n = LocalNative.ReadSmallFile($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat", buffer);
        return n <= 0 ? null : Parse(buffer[..n]);
    }

    /// <summary>
    /// Parses a stat line. The command name sits in parentheses and may itself contain spaces
    /// and parentheses, so the fields are counted from the last ')'.
    /// </summary>
    public static ProcStat? Parse(ReadOnlySpan<byte> line)
    {
        var open = line.IndexOf((byte)'(');
        var close = line.LastIndexOf((byte)')');
        if (open <= 0 || close < open || close + 2 >= line.Length) return null;
        if (!int.TryParse(Encoding.ASCII.GetString(line[..open]).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return null;

        // Fields after ") ": index 0 is field 3 (state) of proc(5).
        var rest = Encoding.ASCII.GetString(line[(close + 2)..]);
        var f = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 22 || f[0].Length != 1) return null;
        static long L(string s) => long.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        try
        {
            return new ProcStat(
                Pid: pid,
                State: f[0][0],
                ParentPid: (int)L(f[1]),
                ProcessGroup: (int)L(f[2]),
                Session: (int)L(f[3]),
                StartTicks: ulong.Parse(f[19], NumberStyles.None, CultureInfo.InvariantCulture),
                RssPages: L(f[21]));
        }
        catch (FormatException)
        {
            return null;
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    /// <summary>
    /// True when <paramref name="pid"/> is a live (not zombie) process that started at
    /// <paramref name="startTicks"/>: the same process that was recorded, not a later one that
    /// got the pid after it ended.
    /// </summary>
    public static bool IsAlive(int pid, ulong startTicks) =>
        pid > 0 && TryReadStat(pid) is { } s && s.StartTicks == startTicks && !s.HasExited;

    /// <summary>Every process visible in /proc right now.</summary>
    public static List<ProcStat> Snapshot()
    {
        var list = new List<ProcStat>(256);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir.AsSpan());
            if (name.Length == 0 || !char.IsAsciiDigit(name[0])) continue;
            if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && TryReadStat(pid) is { } s)
            {
                list.Add(s);
            }
        }

        return list;
    }

    /// <summary>All descendants of <paramref name="rootPid"/> in a snapshot (not the root itself).</summary>
    public static List<ProcStat> Descendants(IReadOnlyList<ProcStat> snapshot, int rootPid)
    {
        var children = new Dictionary<int, List<ProcStat>>();
        foreach (var p in snapshot)
        {
            if (!children.TryGetValue(p.ParentPid, out var l)) children[p.ParentPid] = l = [];
            l.Add(p);
        }

        var result = new List<ProcStat>();
        var queue = new Queue<int>();
        queue.Enqueue(rootPid);
        var seen = new HashSet<int> { rootPid };
        while (queue.Count > 0)
        {
            if (!children.TryGetValue(queue.Dequeue(), out var kids)) continue;
            foreach (var k in kids)
            {
                if (!seen.Add(k.Pid)) continue;
                result.Add(k);
                queue.Enqueue(k.Pid);
            }
        }

        return result;
    }

    private static string? ReadTrimmed(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
