using System.Collections.Concurrent;
using CcatWorkflow.Core.Execution;

namespace CcatWorkflow.Core.Tests.Slurm;

/// <summary>An <see cref="ICommandRunner"/> that answers Slurm commands from a function and records every call.</summary>
internal sealed class FakeSlurmRunner(Func<string, IReadOnlyList<string>, CommandResult> answer) : ICommandRunner
{
    public ConcurrentQueue<(string Program, IReadOnlyList<string> Arguments, CommandOptions? Options)> Calls { get; } = new();

    public int CountOf(string program) => Calls.Count(c => c.Program == program);

    public Task<CommandResult> RunAsync(string program, IReadOnlyList<string> arguments, CommandOptions? options, CancellationToken cancellationToken)
    {
        Calls.Enqueue((program, arguments.ToList(), options));
        return Task.FromResult(answer(program, arguments));
    }

    public static CommandResult Ok(string stdout) => new(0, stdout, "", TimeSpan.Zero);

    public static CommandResult Fail(int code, string stderr) => new(code, "", stderr, TimeSpan.Zero);
}
