using System.Globalization;
using System.Text;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Backends.Slurm.Ssh;

/// <summary>
/// Runs Slurm's client commands on the login node, each quoted word by word with
/// <see cref="ShellQuoting"/>. Independent commands (squeue and sacct of one status call) go
/// as one remote command that runs them side by side and returns each one's exit code, output
/// and errors framed by byte counts: one exec channel per status call, whatever the id count.
/// The login shell runs every command line (sshd starts it with <c>-c</c>): what the user's
/// start-up files do for a non-interactive shell (bash reads ~/.bashrc under sshd) is added to
/// every request.
/// </summary>
public sealed class SshSlurmShell(SshConnection connection) : ISlurmShell
{
    // The login shell's SQUEUE_*/SACCT_* variables change columns and filters: removed before
    // every command, as SlurmCommands.QueryEnvironment does locally.
    private const string ClearOutputVariables =
        "for v in $(env | sed -n 's/^\\(SQUEUE_[A-Za-z0-9_]*\\)=.*/\\1/p;s/^\\(SACCT_[A-Za-z0-9_]*\\)=.*/\\1/p'); do unset \"$v\"; done; ";

    private int _commandsRun;

    /// <inheritdoc />
    public int CommandsRun => _commandsRun;

    /// <summary>The connection the commands run over.</summary>
    public SshConnection Connection => connection;

    /// <summary>The remote command line for one Slurm command: its environment changes through env(1), every word quoted.</summary>
    public static string CommandText(SlurmCommandLine command) => CommandText(command, null);

    /// <summary>
    /// The remote command line for one Slurm command whose secrets (export lines) are in the
    /// remote shell variable <paramref name="secretsVariable"/> instead of on standard input.
    /// </summary>
    public static string CommandText(SlurmCommandLine command, string? secretsVariable) => "(" + ClearOutputVariables + BareCommandText(command, secretsVariable) + ")";

    // The command without the clearing of SQUEUE_*/SACCT_* (a batch clears them once for all).
    private static string BareCommandText(SlurmCommandLine command, string? secretsVariable)
    {
        ArgumentNullException.ThrowIfNull(command);
        // env(1) takes its options (-u NAME) before any NAME=value: after one, a word is the command.
        var changes = command.Environment.Where(kv => ShellQuoting.IsShellIdentifier(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var words = new List<string> { "env" };
        foreach (var (name, _) in changes.Where(kv => kv.Value is null))
        {
            words.Add("-u");
            words.Add(name);
        }

        words.AddRange(changes.Where(kv => kv.Value is not null).Select(kv => kv.Key + "=" + kv.Value));

        words.Add(command.Program);
        words.AddRange(command.Arguments);
        // Secrets arrive on standard input as export lines (never on the command line, which
        // any user of the login node can see in ps) and are evaluated before the command runs.
        var secrets = command.Secrets.Count == 0 ? ""
            : secretsVariable is null ? "eval \"$(cat)\" && "
            : "eval \"$" + secretsVariable + "\" && ";
        return secrets + "exec " + ShellQuoting.Join(words);
    }

    /// <summary>The standard input carrying a command's secrets (<c>export NAME='value'</c> lines), or null when it has none.</summary>
    public static byte[]? SecretsInput(SlurmCommandLine command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.Secrets.Count == 0) return null;
        var text = new StringBuilder();
        foreach (var (name, value) in command.Secrets)
        {
            if (!ShellQuoting.IsShellIdentifier(name)) continue;
            text.Append("export ").Append(name).Append('=').Append(ShellQuoting.Quote(value)).Append('\n');
        }

        return new UTF8Encoding(false).GetBytes(text.ToString());
    }

    /// <inheritdoc />
    public async Task<CommandResult> RunAsync(SlurmCommandLine command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        Interlocked.Increment(ref _commandsRun);
        // sbatch is not run twice after a broken connection: Slurm may have accepted the job.
        var idempotent = command.Program != "sbatch";
        var (code, output, error, duration) = await connection.ExecAsync(CommandText(command), SecretsInput(command), timeout, idempotent, cancellationToken, command.Program).ConfigureAwait(false);
        var result = new CommandResult(code, Encoding.UTF8.GetString(output), error, duration);
        ThrowIfMissing(command.Program, result);
        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SlurmCommandOutcome>> RunAllAsync(IReadOnlyList<SlurmCommandLine> commands, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commands);
        if (commands.Count == 0) return [];
        if (commands.Count == 1)
        {
            try
            {
                return [new SlurmCommandOutcome(await RunAsync(commands[0], timeout, cancellationToken).ConfigureAwait(false), null)];
            }
            catch (CcatException ex) when (ex.IsUnavailable)
            {
                return [new SlurmCommandOutcome(null, ex)];
            }
        }

        Interlocked.Add(ref _commandsRun, commands.Count);
        var (code, output, error, duration) = await connection.ExecAsync(BatchText(commands), null, timeout, retryOnBrokenConnection: true, cancellationToken,
            string.Join(" + ", commands.Select(c => c.Program))).ConfigureAwait(false);
        var results = ParseBatch(output, commands.Count, duration);
        if (results is null)
        {
            var ex = new CcatException(CcatErrorId.SchedulerUnavailable,
                $"Slurm could not be asked: the command batch on {connection.Settings.Host} exited with code {code}: {SlurmCommands.FirstLines(error)}");
            return commands.Select(_ => new SlurmCommandOutcome(null, ex)).ToList();
        }

        var outcomes = new List<SlurmCommandOutcome>(commands.Count);
        for (var i = 0; i < commands.Count; i++)
        {
            try
            {
                ThrowIfMissing(commands[i].Program, results[i]);
                outcomes.Add(new SlurmCommandOutcome(results[i], null));
            }
            catch (CcatException ex)
            {
                outcomes.Add(new SlurmCommandOutcome(null, ex));
            }
        }

        return outcomes;
    }

    /// <summary>
    /// The remote script that runs <paramref name="commands"/> side by side and frames their
    /// results: one <c>@@ccat index exit stdout-bytes stderr-bytes</c> line per command, then
    /// every command's output and errors, in order. Few processes besides the commands (a status
    /// call's remote overhead is what the SSH transport adds to the CLI's time): the variables
    /// are cleared once, exit codes come from <c>wait</c>, sizes from one <c>wc</c>, bodies from one <c>cat</c>.
    /// </summary>
    public static string BatchText(IReadOnlyList<SlurmCommandLine> commands)
    {
        ArgumentNullException.ThrowIfNull(commands);
        var s = new StringBuilder("t=$(mktemp -d) || exit 125; trap 'rm -rf \"$t\"' EXIT; cd \"$t\" || exit 125; ").Append(ClearOutputVariables);
        var files = new StringBuilder();
        for (var i = 0; i < commands.Count; i++)
        {
            s.Append(CultureInfo.InvariantCulture, $"({BareCommandText(commands[i], null)}) >{i}.o 2>{i}.e </dev/null & p{i}=$!; ");
            files.Append(CultureInfo.InvariantCulture, $" {i}.o {i}.e");
        }

        for (var i = 0; i < commands.Count; i++) s.Append(CultureInfo.InvariantCulture, $"wait $p{i}; r{i}=$?; ");
        // wc prints "bytes name" per file (and a total): the sizes are fields 1, 3, 5, ...
        s.Append("set -- $(wc -c").Append(files).Append("); ");
        for (var i = 0; i < commands.Count; i++)
        {
            s.Append(CultureInfo.InvariantCulture, $"printf '@@ccat {i} %s %s %s\\n' \"$r{i}\" \"${{{4 * i + 1}}}\" \"${{{4 * i + 3}}}\"; ");
        }

        return s.Append("cat").Append(files).ToString();
    }

    /// <summary>Splits a batch's framed output; null when it is not what <see cref="BatchText"/> prints.</summary>
    public static IReadOnlyList<CommandResult>? ParseBatch(byte[] output, int count, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(output);
        var frames = new List<(int Code, int OutLength, int ErrLength)>(count);
        var pos = 0;
        for (var i = 0; i < count; i++)
        {
            var newline = Array.IndexOf(output, (byte)'\n', pos);
            if (newline < 0) return null;
            var header = Encoding.ASCII.GetString(output, pos, newline - pos).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (header.Length != 5 || header[0] != "@@ccat"
                || !int.TryParse(header[1], NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index != i
                || !int.TryParse(header[2], NumberStyles.None, CultureInfo.InvariantCulture, out var code)
                || !int.TryParse(header[3], NumberStyles.None, CultureInfo.InvariantCulture, out var outLength)
                || !int.TryParse(header[4], NumberStyles.None, CultureInfo.InvariantCulture, out var errLength))
            {
                return null;
            }

            frames.Add((code, outLength, errLength));
            pos = newline + 1;
        }

        var results = new List<CommandResult>(count);
        foreach (var (code, outLength, errLength) in frames)
        {
            if (pos + (long)outLength + errLength > output.Length) return null;
            var stdout = Encoding.UTF8.GetString(output, pos, outLength);
            var stderr = Encoding.UTF8.GetString(output, pos + outLength, errLength);
            pos += outLength + errLength;
            results.Add(new CommandResult(code, stdout, stderr, duration));
        }

        return results;
    }

    // The shell's "command not found" (127): the Slurm commands are not on the login node's PATH.
    private void ThrowIfMissing(string program, CommandResult result)
    {
        if (result.ExitCode == 127 && (result.StandardError.Contains("No such file", StringComparison.Ordinal) || result.StandardError.Contains("not found", StringComparison.Ordinal)))
        {
            throw new CcatException(CcatErrorId.SchedulerUnavailable,
                $"Cannot run '{program}' on {connection.Settings.Host}: {SlurmCommands.FirstLines(result.StandardError)}. The Slurm client commands must be on the login node's PATH for {connection.Settings.User}.");
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
