namespace CcatWorkflow.Core.Execution;

/// <summary>
/// Runs an external program with an argument list (never a command line glued from strings)
/// and returns its exit code and output. The seam lets xunit tests substitute recorded runs.
/// </summary>
public interface ICommandRunner
{
    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="arguments"/>. A non-zero exit code is
    /// returned, not thrown: callers parse their tools' exit codes themselves. A program that
    /// cannot be started throws <see cref="CommandLaunchException"/>.
    /// </summary>
    Task<CommandResult> RunAsync(string program, IReadOnlyList<string> arguments, CommandOptions? options, CancellationToken cancellationToken);
}

/// <summary>How to run a command.</summary>
/// <param name="Environment">Variables to set (a null value removes the variable).</param>
/// <param name="StandardInput">Text piped to the program's standard input.</param>
/// <param name="WorkingDirectory">The working directory.</param>
/// <param name="Timeout">Kill the program after this long and throw <see cref="TimeoutException"/>.</param>
public sealed record CommandOptions(
    IReadOnlyDictionary<string, string?>? Environment = null,
    string? StandardInput = null,
    string? WorkingDirectory = null,
    TimeSpan? Timeout = null);

/// <summary>What a command did.</summary>
/// <param name="ExitCode">Its exit code.</param>
/// <param name="StandardOutput">Everything it wrote to standard output.</param>
/// <param name="StandardError">Everything it wrote to standard error.</param>
/// <param name="Duration">How long it ran.</param>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError, TimeSpan Duration)
{
    /// <summary>True when the exit code is 0.</summary>
    public bool Succeeded => ExitCode == 0;
}

/// <summary>The program could not be started at all (not installed, not executable).</summary>
public sealed class CommandLaunchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CommandLaunchException(string program, Exception innerException)
        : base($"Cannot run '{program}': {innerException.Message}", innerException) => Program = program;

    /// <summary>The program that could not be started.</summary>
    public string Program { get; }
}
