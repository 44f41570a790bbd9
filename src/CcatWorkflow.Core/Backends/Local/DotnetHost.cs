using System.Runtime.InteropServices;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// Finds the <c>dotnet</c> host that starts the runner. Inside pwsh the current process is
/// pwsh (or dotnet running pwsh.dll), so the muxer is searched for: the SDK's
/// DOTNET_HOST_PATH, the current process when it is dotnet, the install that holds the running
/// runtime (<c>&lt;root&gt;/shared/Microsoft.NETCore.App/&lt;version&gt;/</c> → <c>&lt;root&gt;/dotnet</c>),
/// DOTNET_ROOT, then PATH.
/// </summary>
internal static class DotnetHost
{
    /// <summary>Every place looked at, in order (for the error message when none fits).</summary>
    public static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath)
        {
            yield return hostPath;
        }

        if (Environment.ProcessPath is { } pp && Path.GetFileName(pp) == "dotnet")
        {
            yield return pp;
        }

        var runtimeDir = RuntimeEnvironment.GetRuntimeDirectory();
        if (!string.IsNullOrEmpty(runtimeDir))
        {
            yield return Path.GetFullPath(Path.Combine(runtimeDir, "..", "..", "..", "dotnet"));
        }

        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root)
        {
            yield return Path.Combine(root, "dotnet");
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            yield return Path.Combine(dir, "dotnet");
        }
    }

    /// <summary>The first candidate that is an executable file, or null.</summary>
    public static string? Find() => Candidates().FirstOrDefault(IsExecutable);

    private static bool IsExecutable(string path)
    {
        try
        {
            return !OperatingSystem.IsWindows() && File.Exists(path) &&
                (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
