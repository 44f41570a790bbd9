namespace CcatWorkflow.LocalRunner;

/// <summary>
/// <c>dotnet CcatWorkflow.LocalRunner.dll run &lt;job dir&gt;</c> — the runner of one Local job
/// (started by the backend, not by people).
/// <c>dotnet CcatWorkflow.LocalRunner.dll ctl &lt;verb&gt; …</c> — the Local backend from a shell,
/// without PowerShell: for operators on a box without the module, and for tests that need
/// several separate processes.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "run")
        {
            CcatWorkflow.Core.Backends.Local.RunnerStartReport.Adopt();
            return JobSupervisor.Run(args[1]);
        }

        if (args.Length >= 1 && args[0] == "ctl")
        {
            return ControlCommands.Run(args[1..]);
        }

        Console.Error.WriteLine("usage: CcatWorkflow.LocalRunner run <job dir>");
        Console.Error.WriteLine("       CcatWorkflow.LocalRunner ctl submit|describe [--name N] [--env K=V]... -- <command>");
        Console.Error.WriteLine("       CcatWorkflow.LocalRunner ctl status|wait|cancel|logs <job id>... [--timeout S] [--tail N]");
        Console.Error.WriteLine("       CcatWorkflow.LocalRunner ctl list");
        return 2;
    }
}
