using System.ComponentModel;
using System.Diagnostics;
using CliWrap;
using CliWrap.Buffered;

namespace CcatWorkflow.Core.Execution;

/// <summary>The real <see cref="ICommandRunner"/>, on CliWrap's argument lists.</summary>
public sealed class CliWrapCommandRunner : ICommandRunner
{
    /// <summary>The shared instance.</summary>
    public static CliWrapCommandRunner Instance { get; } = new();

    /// <inheritdoc />
    public async Task<CommandResult> RunAsync(string program, IReadOnlyList<string> arguments, CommandOptions? options, CancellationToken cancellationToken)
    {
        options ??= new CommandOptions();
        var cmd = Cli.Wrap(program)
            .WithArguments(arguments)
            .WithValidation(CommandResultValidation.None);
        if (options.Environment is { Count: > 0 } env)
        {
            cmd = cmd.WithEnvironmentVariables(env);
        }

        if (options.StandardInput is { } stdin)
        {
            cmd = cmd.WithStandardInputPipe(PipeSource.FromString(stdin));
        }

        if (options.WorkingDirectory is { } wd)
        {
            cmd = cmd.WithWorkingDirectory(wd);
        }

        using var timeout = options.Timeout is { } t ? new CancellationTokenSource(t) : null;
        using var linked = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var token = linked?.Token ?? cancellationToken;
        var sw = Stopwatch.StartNew();
        try
        {
            var r = await cmd.ExecuteBufferedAsync(token).ConfigureAwait(false);
            return new CommandResult(r.ExitCode, r.StandardOutput, r.StandardError, sw.Elapsed);
        }
        catch (OperationCanceledException) when (timeout?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"'{program}' did not finish within {options.Timeout!.Value.TotalSeconds:0.#} s.");
        }
        catch (Win32Exception ex)
        {
            throw new CommandLaunchException(program, ex);
        }
        catch (CliWrap.Exceptions.CliWrapException ex) when (ex.InnerException is Win32Exception w)
        {
            throw new CommandLaunchException(program, w);
        }
    }
}
