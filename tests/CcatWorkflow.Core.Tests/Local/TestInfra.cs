using System.Diagnostics;

namespace CcatWorkflow.Core.Tests.Local;

/// <summary>Runs the project's own infrastructure scripts (tests/infra/&lt;service&gt;/*.sh).</summary>
internal static class TestInfra
{
    /// <summary>The repository root: the directory that holds CcatWorkflow.slnx.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Runs a script with bash; returns its KEY=VALUE output lines. Throws with its stderr when it fails.</summary>
    public static Dictionary<string, string> RunScript(string relativePath, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("/bin/bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(RepositoryRoot, relativePath));
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{relativePath} did not finish within 5 minutes.");
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{relativePath} failed with exit code {p.ExitCode}: {stderr.Result}");
        }

        return stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.Contains('='))
            .ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..]);
    }

    /// <summary>A fresh directory with a short path (unix socket paths are limited to 107 bytes).</summary>
    public static string NewTempDirectory(string tag)
    {
        var dir = Path.Combine("/tmp", $"ccat-{tag}-{Guid.NewGuid().ToString("N")[..10]}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CcatWorkflow.slnx"))) return dir.FullName;
        }

        throw new InvalidOperationException($"No CcatWorkflow.slnx above {AppContext.BaseDirectory}.");
    }
}
