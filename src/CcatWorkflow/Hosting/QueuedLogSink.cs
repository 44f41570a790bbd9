using System.Collections.Concurrent;
using CcatWorkflow.Core.Diagnostics;

namespace CcatWorkflow.Commands.Hosting;

/// <summary>
/// Collects the engine's log records from whatever thread writes them, for the pipeline thread
/// to write to the verbose and debug streams (only the pipeline thread may write to the host).
/// </summary>
internal sealed class QueuedLogSink : ICcatLogSink
{
    private readonly ConcurrentQueue<(CcatLogLevel Level, string Message)> _records = new();

    /// <inheritdoc />
    public void Write(CcatLogLevel level, string message) => _records.Enqueue((level, message));

    /// <summary>Takes the next record, in the order written.</summary>
    public bool TryTake(out CcatLogLevel level, out string message)
    {
        if (_records.TryDequeue(out var r))
        {
            (level, message) = r;
            return true;
        }

        (level, message) = (default, "");
        return false;
    }
}
