using System.Collections;
using System.Management.Automation;
using CcatWorkflow.Commands.Errors;
using CcatWorkflow.Commands.Hosting;
using CcatWorkflow.Core;
using CcatWorkflow.Core.Configuration;
using CcatWorkflow.Core.Diagnostics;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Commands;

/// <summary>
/// Base of every CcatWorkflow cmdlet: the one synchronous edge over the async engine, Ctrl+C
/// (StopProcessing cancels the engine's token), settings for the call, backend resolution and
/// the mapping of engine errors to ErrorRecords. Only the pipeline thread writes to the host:
/// engine calls run on the thread pool and return their results here.
/// </summary>
public abstract class CcatCmdlet : PSCmdlet, IDisposable
{
    private static readonly TimeSpan LogDrainInterval = TimeSpan.FromMilliseconds(100);

    // Registers the built-in backends (and their aliases such as k8s) before PowerShell binds
    // -Backend or a piped Backend property through HPCBackendKind.Parse.
    static CcatCmdlet() => System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(BackendRegistry).TypeHandle);

    private readonly CancellationTokenSource _cancellation = new();
    private CcatSettings? _settings;

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline stops.</summary>
    protected CancellationToken CancellationToken => _cancellation.Token;

    /// <summary>The settings of this call, loaded once (PowerShell's location decides ./settings.toml).</summary>
    protected CcatSettings Settings
    {
        get
        {
            if (_settings is null)
            {
                try
                {
                    _settings = SettingsLoader.Load(SessionState.Path.CurrentFileSystemLocation.ProviderPath);
                }
                catch (CcatException ex)
                {
                    ThrowTerminatingError(ErrorRecordFactory.From(ex, null));
                }
            }

            return _settings!;
        }
    }

    /// <summary>The backend for <paramref name="kind"/>, or the configured one.</summary>
    protected HPCBackend GetBackend(HPCBackendKind? kind)
    {
        var settings = Settings;
        try
        {
            return BackendRegistry.Get(kind ?? settings.Backend, settings);
        }
        catch (CcatException ex)
        {
            ThrowTerminatingError(ErrorRecordFactory.From(ex, kind?.ToString()));
            throw; // unreachable
        }
    }

    /// <summary>
    /// Runs an engine call to completion on the thread pool and returns its result on the
    /// pipeline thread. Ctrl+C cancels the call and stops the pipeline.
    /// </summary>
    protected T RunSync<T>(Func<CancellationToken, Task<T>> operation) => RunSync(operation, null, "");

    /// <summary>
    /// <see cref="RunSync{T}(Func{CancellationToken, Task{T}})"/> bounded by the caller's
    /// remaining time: when <paramref name="timeLeft"/> passes, the engine's token is cancelled
    /// (which kills a running squeue, ends a Redis or API wait) and
    /// <see cref="CcatErrorId.WaitTimeout"/> is thrown, naming <paramref name="what"/>. A null
    /// <paramref name="timeLeft"/> means no deadline.
    /// </summary>
    protected T RunSync<T>(Func<CancellationToken, Task<T>> operation, TimeSpan? timeLeft, string what)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_cancellation.Token);
        if (timeLeft is { } limit)
        {
            deadline.CancelAfter(limit < TimeSpan.Zero ? TimeSpan.Zero : limit);
        }

        Task<T> task;
        var log = new QueuedLogSink();
        using (CcatLog.Use(log))
        {
            // The engine's log records flow with this call into the thread pool.
            task = Task.Run(() => operation(deadline.Token));
        }

        try
        {
            // Verbose and debug records are written here, as they come, on the pipeline thread.
            while (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(LogDrainInterval))
            {
                DrainLog(log);
            }

            DrainLog(log);
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_cancellation.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (OperationCanceledException e) when (timeLeft is { } left && deadline.IsCancellationRequested)
        {
            throw new CcatException(CcatErrorId.WaitTimeout,
                $"{what} did not answer within the {Math.Max(0, left.TotalSeconds):0.#} s left; it was stopped.", null, e);
        }
        catch (Exception e) when (IsUnexpected(e))
        {
            throw Unexpected(e);
        }
    }

    /// <summary>Writes a verbose record with how long <paramref name="startTimestamp"/> ago was, in ms.</summary>
    protected void WriteVerboseTimed(string what, long startTimestamp, string? outcome = null) =>
        WriteVerbose($"{what}: {CcatLog.Milliseconds(startTimestamp)} ms{(string.IsNullOrEmpty(outcome) ? "" : ", " + outcome)}");

    private void DrainLog(QueuedLogSink log)
    {
        while (log.TryTake(out var level, out var message))
        {
            if (level == CcatLogLevel.Debug) WriteDebug(message);
            else WriteVerbose(message);
        }
    }

    // Every error a user sees carries one of our ids: an exception the engine did not turn into
    // a CcatException (a bug, or a library failure it did not foresee) becomes InternalError,
    // with the original kept as the inner exception.
    private static bool IsUnexpected(Exception e) =>
        e is not (CcatException or OperationCanceledException or PipelineStoppedException);

    private static CcatException Unexpected(Exception e) =>
        new(CcatErrorId.InternalError, $"Unexpected {e.GetType().Name} inside CcatWorkflow: {e.Message}", null, e);

    /// <summary>The void form of <see cref="RunSync{T}(Func{CancellationToken, Task{T}})"/>.</summary>
    protected void RunSync(Func<CancellationToken, Task> operation) =>
        RunSync<bool>(async ct =>
        {
            await operation(ct).ConfigureAwait(false);
            return true;
        });

    /// <summary>Sleeps on the pipeline thread; Ctrl+C ends the sleep and stops the pipeline.</summary>
    protected void Sleep(TimeSpan duration)
    {
        if (_cancellation.Token.WaitHandle.WaitOne(duration))
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>Writes a non-terminating error for an engine exception.</summary>
    protected void WriteCcatError(CcatException ex, object? target) => WriteError(ErrorRecordFactory.From(ex, target));

    /// <summary>Writes a non-terminating error with an id and message of our own.</summary>
    protected void WriteCcatError(CcatErrorId id, string message, object? target) =>
        WriteCcatError(new CcatException(id, message, target as string), target);

    /// <summary>
    /// Copies a caller's dictionary with PSObject wrappers removed, keeping its order and its
    /// keys exactly (environment variable names are case-sensitive on Linux).
    /// </summary>
    protected static System.Collections.Specialized.OrderedDictionary? Unwrap(IDictionary? values)
    {
        if (values is null) return null;
        var copy = new System.Collections.Specialized.OrderedDictionary();
        foreach (DictionaryEntry e in values)
        {
            copy.Add(e.Key is PSObject pk ? pk.BaseObject : e.Key, e.Value is PSObject pv ? pv.BaseObject : e.Value);
        }

        return copy;
    }

    /// <inheritdoc />
    protected override void StopProcessing() => _cancellation.Cancel();

    /// <inheritdoc />
    public void Dispose()
    {
        _cancellation.Dispose();
        GC.SuppressFinalize(this);
    }
}
