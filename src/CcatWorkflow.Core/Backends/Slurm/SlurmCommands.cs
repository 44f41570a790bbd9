using System.Collections;
using CcatWorkflow.Core.Diagnostics;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Runs Slurm's client commands through <see cref="ICommandRunner"/> (argument lists, never a
/// command line), with the user's output-changing variables neutralised, and turns "could not
/// run it / could not reach the controller or the database" into
/// <see cref="CcatErrorId.SchedulerUnavailable"/> — never a job failure.
/// </summary>
public sealed class SlurmCommands(ICommandRunner runner) : ISlurmShell
{
    /// <summary>How long sbatch may take (it retries by itself while the controller is busy).</summary>
    public static TimeSpan SubmitTimeout { get; } = TimeSpan.FromMinutes(5);

    /// <summary>How long squeue, sacct, scancel and scontrol may take.</summary>
    public static TimeSpan QueryTimeout { get; } = TimeSpan.FromMinutes(2);

    // Text of Slurm's client errors that mean "the daemons could not be asked", as opposed to
    // "the daemons said no".
    private static readonly string[] UnreachableMarkers =
    [
        "Unable to contact slurm controller", "Socket timed out", "Connection refused", "connect failure",
        "Communication connection failure", "Zero Bytes were transmitted", "Could not establish a configuration source",
        "Problem talking to the database", "accounting storage is disabled", "Unable to establish a connection",
        "Connection timed out", "slurmdbd", "Persist", "Transport endpoint", "Munge", "munge", "authentication",
        "Slurm backup controller in standby mode", "No route to host", "Network is unreachable",
    ];

    /// <summary>Number of commands run through this instance (the benchmark and tests read it).</summary>
    public int CommandsRun => _commandsRun;

    private int _commandsRun;

    /// <summary>
    /// The environment changes for squeue, sacct, scancel and scontrol: every SQUEUE_* and SACCT_*
    /// variable removed (they change columns, filters and sorting), and SLURM_TIME_FORMAT=%s so
    /// timestamps are epoch seconds whatever the user set.
    /// </summary>
    /// <param name="current">The environment the commands would inherit; this process's when null (tests pass their own).</param>
    public static IReadOnlyDictionary<string, string?> QueryEnvironment(IDictionary? current = null)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in current ?? Environment.GetEnvironmentVariables())
        {
            if (e.Key is string k && (k.StartsWith("SQUEUE_", StringComparison.Ordinal) || k.StartsWith("SACCT_", StringComparison.Ordinal)))
            {
                env[k] = null;
            }
        }

        env["SLURM_TIME_FORMAT"] = "%s";
        return env;
    }

    /// <summary>
    /// The environment changes for sbatch: the SBATCH_* input variables that would override an
    /// option the script sets (sbatch ranks them above #SBATCH lines) are removed, so the job
    /// gets what the script says. The others are left alone: sites use them on purpose.
    /// The job's <paramref name="secrets"/> are added: sbatch exports them to the job from its own
    /// environment (only the submitting user can read a process's environment), so they are
    /// written nowhere.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> SubmitEnvironment(IEnumerable<string> scriptOptions,
        IEnumerable<KeyValuePair<string, string>>? secrets = null)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var option in scriptOptions)
        {
            var name = option.Split('=', 2)[0];
            foreach (var variable in name switch
                     {
                         "--job-name" => ["SBATCH_JOB_NAME"],
                         "--output" => ["SBATCH_OUTPUT"],
                         "--error" => ["SBATCH_ERROR"],
                         "--chdir" => ["SBATCH_CHDIR"],
                         "--time" => ["SBATCH_TIMELIMIT"],
                         "--mem" => ["SBATCH_MEM_PER_NODE", "SBATCH_MEM_PER_CPU", "SBATCH_MEM_PER_GPU"],
                         "--cpus-per-task" => ["SBATCH_CPUS_PER_TASK"],
                         "--gpus" => ["SBATCH_GPUS"],
                         "--gres" => ["SBATCH_GRES"],
                         "--partition" => ["SBATCH_PARTITION"],
                         "--account" => ["SBATCH_ACCOUNT"],
                         "--qos" => ["SBATCH_QOS"],
                         "--array" => ["SBATCH_ARRAY_INX"],
                         "--export" => ["SBATCH_EXPORT"],
                         _ => Array.Empty<string>(),
                     })
            {
                env[variable] = null;
            }
        }

        foreach (var (name, value) in secrets ?? [])
        {
            env[name] = value;
        }

        return env;
    }

    /// <summary>True when a command's error text says the Slurm daemons could not be reached.</summary>
    public static bool LooksUnreachable(string stderr) =>
        UnreachableMarkers.Any(m => stderr.Contains(m, StringComparison.Ordinal));

    /// <summary>
    /// Runs <paramref name="program"/>. A program that cannot be started, or that runs past its
    /// timeout, is <see cref="CcatErrorId.SchedulerUnavailable"/>; any exit code is returned.
    /// </summary>
    public async Task<CommandResult> RunAsync(string program, IReadOnlyList<string> arguments,
        IReadOnlyDictionary<string, string?> environment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _commandsRun);
        var timer = CcatLog.Time(LogSubject(program, arguments));
        if (CcatLog.IsEnabled) CcatLog.Debug($"{program} {string.Join(' ', arguments.Select(ShellQuoting.Quote))}");
        try
        {
            var result = await runner.RunAsync(program, arguments, new CommandOptions(environment, Timeout: timeout), cancellationToken)
                .ConfigureAwait(false);
            timer.Done($"exit {result.ExitCode}, {CountLines(result.StandardOutput)} lines of output");
            return result;
        }
        catch (CommandLaunchException ex)
        {
            throw new CcatException(CcatErrorId.SchedulerUnavailable,
                $"Cannot run '{program}': {ex.InnerException?.Message ?? ex.Message}. The Slurm client commands must be installed and on PATH.",
                null, ex);
        }
        catch (TimeoutException ex)
        {
            throw new CcatException(CcatErrorId.SchedulerUnavailable,
                $"Slurm did not answer: '{program}' ran longer than {timeout.TotalSeconds:0} s.", null, ex);
        }
    }

    /// <inheritdoc />
    public Task<CommandResult> RunAsync(SlurmCommandLine command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var environment = command.Environment;
        if (command.Secrets.Count > 0)
        {
            // A child process's environment is readable only by its user: the secrets go there.
            var merged = new Dictionary<string, string?>(command.Environment, StringComparer.Ordinal);
            foreach (var (name, value) in command.Secrets) merged[name] = value;
            environment = merged;
        }

        return RunAsync(command.Program, command.Arguments, environment, timeout, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SlurmCommandOutcome>> RunAllAsync(IReadOnlyList<SlurmCommandLine> commands, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var tasks = commands.Select(async c =>
        {
            try
            {
                return new SlurmCommandOutcome(await RunAsync(c, timeout, cancellationToken).ConfigureAwait(false), null);
            }
            catch (CcatException ex)
            {
                return new SlurmCommandOutcome(null, ex);
            }
        }).ToList();
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    // "sacct for 200 ids": the ids are in --jobs=a,b,c or given one per argument (scancel, scontrol).
    private static string LogSubject(string program, IReadOnlyList<string> arguments)
    {
        var ids = arguments.Where(a => a.StartsWith("--jobs=", StringComparison.Ordinal))
            .Sum(a => a["--jobs=".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries).Length);
        ids += arguments.Count(SlurmJobId.IsValid);
        return ids == 0 ? program : $"{program} for {ids} id{(ids == 1 ? "" : "s")}";
    }

    private static int CountLines(string text) => text.Length == 0 ? 0 : text.Count(c => c == '\n') + (text.EndsWith('\n') ? 0 : 1);

    /// <summary>The error for a query command that failed: the scheduler could not be asked.</summary>
    public static CcatException Unavailable(string program, CommandResult result) =>
        new(CcatErrorId.SchedulerUnavailable,
            $"Slurm could not be asked: '{program}' exited with code {result.ExitCode}: {FirstLines(result.StandardError, result.StandardOutput)}");

    /// <summary>The first lines of a command's message, for error texts.</summary>
    public static string FirstLines(string stderr, string stdout = "")
    {
        var text = string.IsNullOrWhiteSpace(stderr) ? stdout : stderr;
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(4);
        var joined = string.Join(" ", lines);
        return joined.Length == 0 ? "(no message)" : joined;
    }
}
