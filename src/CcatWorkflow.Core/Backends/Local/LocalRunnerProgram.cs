using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>LOCAL_RUNNER: which runner a Local job gets.</summary>
internal enum LocalRunnerMode
{
    /// <summary>The native runner where one fits this machine, else the managed one.</summary>
    Auto,

    /// <summary>Only the native runner.</summary>
    Native,

    /// <summary>Only the managed runner (<c>dotnet CcatWorkflow.LocalRunner.dll</c>).</summary>
    Managed,
}

/// <summary>
/// One way to start the runner: the program and the arguments before <c>run &lt;job dir&gt;</c>.
/// The native runner is a Native AOT executable shipped at
/// <c>deps/native/&lt;rid&gt;/ccat-runner</c> of the module (no .NET runtime to start, a few MB
/// per job); the managed one is <c>dotnet deps/CcatWorkflow.LocalRunner.dll</c>, for machines
/// no native build fits (another RID, or the binary is missing).
/// </summary>
/// <param name="Kind">"native" or "managed" (as recorded in runner.json and the job's record).</param>
/// <param name="Program">The executable started.</param>
/// <param name="Arguments">Its arguments before <c>run &lt;job dir&gt;</c>.</param>
internal sealed record LocalRunnerProgram(string Kind, string Program, IReadOnlyList<string> Arguments)
{
    /// <summary>The native runner's file name.</summary>
    public const string NativeFileName = "ccat-runner";

    /// <summary>The managed runner's file name.</summary>
    public const string ManagedFileName = "CcatWorkflow.LocalRunner.dll";

    /// <summary>The argv that starts this runner for <paramref name="jobDir"/>.</summary>
    public IReadOnlyList<string> Argv(string jobDir) => [Program, .. Arguments, "run", jobDir];

    /// <summary>
    /// The folder that holds Core and the managed runner (the module's deps/). Inside the native
    /// runner (its own ctl verbs) there is no assembly file: it is two levels above the binary.
    /// </summary>
    [UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "An empty Location (Native AOT) falls back to the executable's own folder.")]
    public static string DepsDirectory()
    {
        var location = typeof(LocalRunnerProgram).Assembly.Location;
        if (!string.IsNullOrEmpty(location)) return Path.GetDirectoryName(location)!;
        return Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", ".."));
    }

    /// <summary>Where the native runner for this machine's runtime identifier is looked for.</summary>
    public static string DefaultNativePath() =>
        Path.Combine(DepsDirectory(), "native", RuntimeInformation.RuntimeIdentifier, NativeFileName);

    /// <summary>The native runner, when it is installed for this machine and executable.</summary>
    public static LocalRunnerProgram? FindNative(LocalBackendOptions options)
    {
        var path = options.NativeRunnerPath ?? DefaultNativePath();
        return IsExecutable(path) ? new LocalRunnerProgram("native", path, []) : null;
    }

    /// <summary>The managed runner, when both its assembly and a dotnet host are found.</summary>
    public static LocalRunnerProgram? FindManaged(LocalBackendOptions options)
    {
        var assembly = FindManagedAssembly(options);
        var dotnet = options.DotnetPath ?? DotnetHost.Find();
        return assembly is null || dotnet is null ? null : new LocalRunnerProgram("managed", dotnet, [assembly]);
    }

    /// <summary>The managed runner assembly that would be used, or null when it is not installed.</summary>
    public static string? FindManagedAssembly(LocalBackendOptions options)
    {
        if (options.RunnerAssemblyPath is { } given) return File.Exists(given) ? given : null;
        var here = DepsDirectory();
        return new[] { Path.Combine(here, ManagedFileName), Path.Combine(here, "runner", ManagedFileName) }.FirstOrDefault(File.Exists);
    }

    /// <summary>The runners LOCAL_RUNNER allows, in the order they are tried (none when none is installed).</summary>
    public static IReadOnlyList<LocalRunnerProgram> Candidates(LocalBackendOptions options)
    {
        var list = new List<LocalRunnerProgram>(2);
        if (options.RunnerMode != LocalRunnerMode.Managed && FindNative(options) is { } native) list.Add(native);
        if (options.RunnerMode != LocalRunnerMode.Native && FindManaged(options) is { } managed) list.Add(managed);
        return list;
    }

    private static bool IsExecutable(string path)
    {
        try
        {
            return !OperatingSystem.IsWindows() && File.Exists(path) &&
                (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>Which Local runner this machine starts (shown by Get-CcatConfiguration as LOCAL_RUNNER_IN_USE).</summary>
/// <param name="Kind">"native", "managed", or "none" when no runner is installed.</param>
/// <param name="Location">The runner's program, or what was looked for when none is installed.</param>
public sealed record LocalRunnerDescription(string Kind, string Location);
