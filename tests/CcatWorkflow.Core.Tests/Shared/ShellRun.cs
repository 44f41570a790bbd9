using System.Diagnostics;
using System.Text;

namespace CcatWorkflow.Core.Tests.Shared;

/// <summary>Runs a script with a real shell and returns its exit code and raw output.</summary>
internal static class ShellRun
{
    public static (int ExitCode, string Stdout, string Stderr) Run(string shell, string script, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(shell)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The shells a quoted word must survive: /bin/sh (dash here) and bash.</summary>
    public static TheoryData<string> Shells => ["/bin/sh", "/bin/bash"];
}
