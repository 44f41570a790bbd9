using System.Diagnostics;

namespace CcatWorkflow.Core.Diagnostics;

/// <summary>
/// The engine's log: what it asked the scheduler, API or store, how long that took and how much
/// came back, and the decisions it took (why a job is judged lost). Core has no PowerShell
/// reference, so records go to an <see cref="ICcatLogSink"/> set for the current call with
/// <see cref="Use"/>; the cmdlet layer collects them and writes them to the verbose and debug
/// streams on the pipeline thread. With no sink set, logging costs one null check.
/// </summary>
/// <remarks>
/// Never log a secret: no passwords, tokens, environment values or script bodies. Arguments,
/// URL paths, job ids and counts are fine.
/// </remarks>
public static class CcatLog
{
    // Flows with the call (into Task.Run and across awaits), so one backend shared by many
    // calls writes each call's records to that call's sink.
    private static readonly AsyncLocal<ICcatLogSink?> Current = new();

    /// <summary>True when a sink listens in this call: build costly messages only then.</summary>
    public static bool IsEnabled => Current.Value is not null;

    /// <summary>Sends this call's records (and those of the tasks it starts) to <paramref name="sink"/> until disposed.</summary>
    public static IDisposable Use(ICcatLogSink? sink)
    {
        var previous = Current.Value;
        Current.Value = sink;
        return new Restore(previous);
    }

    /// <summary>A record for the verbose stream: a call with its duration and counts, or a decision.</summary>
    public static void Verbose(string message) => Current.Value?.Write(CcatLogLevel.Verbose, message);

    /// <summary>A record for the debug stream: the details behind a verbose record (arguments, URLs).</summary>
    public static void Debug(string message) => Current.Value?.Write(CcatLogLevel.Debug, message);

    /// <summary>Starts timing a call; <see cref="CallTimer.Done"/> writes "what: N ms (counts)".</summary>
    public static CallTimer Time(string what) => new(what, Stopwatch.GetTimestamp());

    /// <summary>Milliseconds since <paramref name="startTimestamp"/>, as the log writes them.</summary>
    public static long Milliseconds(long startTimestamp) => (long)Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;

    private sealed class Restore(ICcatLogSink? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }
}

/// <summary>A call being timed for the log.</summary>
/// <param name="What">What was called, for example <c>sacct for 200 ids</c>.</param>
/// <param name="StartTimestamp">When it started (<see cref="Stopwatch.GetTimestamp"/>).</param>
public readonly record struct CallTimer(string What, long StartTimestamp)
{
    /// <summary>Writes "what: N ms" and, when given, what came back.</summary>
    public void Done(string? outcome = null) =>
        CcatLog.Verbose($"{What}: {CcatLog.Milliseconds(StartTimestamp)} ms{(string.IsNullOrEmpty(outcome) ? "" : ", " + outcome)}");
}

/// <summary>Where the engine's log records go for one call.</summary>
public interface ICcatLogSink
{
    /// <summary>Takes one record. Called from any thread: implementations must be thread-safe and quick.</summary>
    void Write(CcatLogLevel level, string message);
}

/// <summary>The stream a log record belongs to.</summary>
public enum CcatLogLevel
{
    /// <summary>Calls with durations and counts, and decisions.</summary>
    Verbose,
    /// <summary>The details: arguments, URLs, store keys.</summary>
    Debug,
}
