using System.Diagnostics;
using System.Text;
using CcatWorkflow.Core.Backends.Local;

namespace CcatWorkflow.Core.Tests.Local;

public sealed class ProcFsTests
{
    [Fact]
    public void A_stat_line_is_parsed_from_the_last_parenthesis_whatever_the_command_name_holds()
    {
        var line = "4242 (we (i)rd) name) S 1 4242 4240 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 12345678 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

        var s = ProcFs.Parse(Encoding.ASCII.GetBytes(line))!.Value;

        Assert.Equal(new ProcStat(4242, 'S', 1, 4242, 4240, 987654UL, 321), s);
    }

    [Theory]
    [InlineData("")]
    [InlineData("12 (x")]
    [InlineData("12 (x) S 1 2")]
    [InlineData("abc (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 nope 1 2")]
    public void Malformed_stat_lines_are_refused(string line) => Assert.Null(ProcFs.Parse(Encoding.ASCII.GetBytes(line)));

    [Fact]
    public void A_live_process_is_alive_only_with_its_own_start_time()
    {
        var me = ProcFs.TryReadStat(Environment.ProcessId)!.Value;

        Assert.True(ProcFs.IsAlive(me.Pid, me.StartTicks));
        Assert.False(ProcFs.IsAlive(me.Pid, me.StartTicks + 1));
        Assert.False(ProcFs.IsAlive(me.Pid, me.StartTicks - 1));
        Assert.False(ProcFs.IsAlive(0, 0));
    }

    [Fact]
    public void A_zombie_is_not_alive()
    {
        // sh execs sleep 0 as a child of a parent that does not reap it for a while: a zombie.
        using var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "sleep 0 & echo $!; exec sleep 3"]) { RedirectStandardOutput = true })!;
        var child = int.Parse(p.StandardOutput.ReadLine()!, System.Globalization.CultureInfo.InvariantCulture);
        ProcStat? s = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((s = ProcFs.TryReadStat(child)) is { HasExited: false } && DateTime.UtcNow < deadline) Thread.Sleep(20);

        Assert.True(s is { State: 'Z' }, $"state {s?.State}");
        Assert.False(ProcFs.IsAlive(child, s!.Value.StartTicks));
        p.Kill();
    }

    [Fact]
    public void Descendants_follow_parent_links_through_every_generation()
    {
        var snapshot = new List<ProcStat>
        {
            new(10, 'S', 1, 10, 10, 1, 1), new(11, 'S', 10, 10, 10, 2, 1), new(12, 'S', 11, 10, 10, 3, 1),
            new(13, 'S', 1, 13, 13, 4, 1), new(14, 'Z', 12, 10, 10, 5, 0),
        };

        Assert.Equal([11, 12, 14], ProcFs.Descendants(snapshot, 10).Select(p => p.Pid).Order());
        Assert.Empty(ProcFs.Descendants(snapshot, 13));
    }

    [Fact]
    public void Boot_id_and_pid_namespace_identify_this_machine()
    {
        Assert.Matches("^[0-9a-f-]{36}$", ProcFs.BootId);
        Assert.Matches(@"^pid:\[\d+\]$", ProcFs.PidNamespace);
    }
}
