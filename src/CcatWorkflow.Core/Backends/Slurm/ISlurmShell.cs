using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>One Slurm client command: a program, its argument list and the environment changes it needs (null removes a variable).</summary>
/// <param name="Program">sbatch, squeue, sacct, scancel or scontrol.</param>
/// <param name="Arguments">The arguments (never a command line).</param>
/// <param name="Environment">Variables to set; a null value removes the variable.</param>
public sealed record SlurmCommandLine(string Program, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string?> Environment)
{
    /// <summary>
    /// Secret variables for the command's environment: never on a command line (argument lists
    /// are public on the host), so each shell passes them its own private way.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Secrets { get; init; } = [];

    /// <summary>No secret in the text form (records print every property).</summary>
    public override string ToString() => Program + " " + string.Join(' ', Arguments);
}

/// <summary>What one command of a batch gave: its result, or why it could not be run.</summary>
/// <param name="Result">The command's exit code and output, when it ran.</param>
/// <param name="Error">Why it could not be run or did not end in time (<see cref="CcatErrorId.SchedulerUnavailable"/> or a transport error).</param>
public sealed record SlurmCommandOutcome(CommandResult? Result, CcatException? Error);

/// <summary>
/// Where the Slurm client commands run: this machine (<see cref="SlurmCommands"/>) or a login
/// node over SSH. Both the CLI and the SSH transport share every rule above this
/// (<see cref="SlurmCommandTransport"/>).
/// </summary>
public interface ISlurmShell : IAsyncDisposable
{
    /// <summary>Slurm commands run so far.</summary>
    int CommandsRun { get; }

    /// <summary>
    /// Runs one command. A command that cannot be started, or runs past <paramref name="timeout"/>
    /// (inner <see cref="TimeoutException"/>), throws <see cref="CcatException"/> with
    /// <see cref="CcatException.IsUnavailable"/>; any exit code is returned.
    /// </summary>
    Task<CommandResult> RunAsync(SlurmCommandLine command, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Runs independent commands at the same time, in one request where the shell can (one SSH exec for all).</summary>
    Task<IReadOnlyList<SlurmCommandOutcome>> RunAllAsync(IReadOnlyList<SlurmCommandLine> commands, TimeSpan timeout, CancellationToken cancellationToken);
}
