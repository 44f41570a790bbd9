using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// How a runner tells its submitter at once that it has claimed the job (runner.json on disk),
/// so the submitter need not poll the folder: a connected pair of Unix sockets, one end kept by
/// the submitter, the other handed to the runner as descriptor <see cref="ChildFd"/> (named in
/// <see cref="Variable"/>). The runner sends one byte after runner.json is durable and closes
/// its end; a runner that ends without sending closes it too (end of file). Either wakes the
/// submitter, which then decides from the folder as before (<see cref="RunnerLauncher"/>): the
/// byte is a wake-up, never the proof — runner.json is.
/// <para>
/// A socket and not a pipe: .NET waits on a socket without holding a thread (epoll), so a
/// batch of submissions waits on all its runners together, each wait cancellable.
/// </para>
/// </summary>
internal sealed partial class RunnerStartReport : IDisposable
{
    /// <summary>The runner's environment variable naming its end (removed before the job starts).</summary>
    public const string Variable = "CCAT_LOCAL_RUNNER_START_FD";

    /// <summary>The descriptor the runner gets its end as.</summary>
    public const int ChildFd = 3;

    private const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000, MSG_NOSIGNAL = 0x4000;
    private const int F_SETFD = 2, FD_CLOEXEC = 1;

    /// <summary>The runner's end while this process holds it: set by <see cref="Adopt"/>, -1 once sent or closed.</summary>
    private static int s_runnerEnd = -1;

    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private Task? _receive;

    private RunnerStartReport(Socket socket, int childEnd)
    {
        _socket = socket;
        ChildEnd = childEnd;
    }

    /// <summary>The end to hand to the runner (close-on-exec here; <see cref="CloseChildEnd"/> once it is spawned).</summary>
    public int ChildEnd { get; private set; }

    /// <summary>True once the runner sent its byte or closed its end (or the socket failed).</summary>
    public bool Done => _receive?.IsCompleted == true;

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    private static unsafe partial int SocketpairNative(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint SendNative(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlNative(int fd, int command, int argument);

    /// <summary>A new socket pair, or null (the submitter then polls the folder, as without one).</summary>
    public static unsafe RunnerStartReport? TryCreate()
    {
        var fds = stackalloc int[2];
        if (SocketpairNative(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return null;
        try
        {
            return new RunnerStartReport(new Socket(new SafeSocketHandle(fds[0], ownsHandle: true)), fds[1]);
        }
        catch (Exception e) when (e is SocketException or PlatformNotSupportedException or ArgumentException)
        {
            LocalNative.Close(fds[0]);
            LocalNative.Close(fds[1]);
            return null;
        }
    }

    /// <summary>Closes this process's copy of the runner's end (after the spawn: the runner holds its own).</summary>
    public void CloseChildEnd()
    {
        if (ChildEnd < 0) return;
        LocalNative.Close(ChildEnd);
        ChildEnd = -1;
    }

    /// <summary>
    /// Waits until the runner sends its byte or closes its end, or <paramref name="limit"/>
    /// passes, whichever is first. Throws when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task WaitAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        _receive ??= ReceiveAsync();
        using var slice = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timer = Task.Delay(limit, slice.Token);
        await Task.WhenAny(_receive, timer).ConfigureAwait(false);
        slice.Cancel(); // the timer, when the report came first
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task ReceiveAsync()
    {
        try
        {
            _ = await _socket.ReceiveAsync(new byte[1], SocketFlags.None, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // as good as an end of file: the folder decides
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        CloseChildEnd();
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
    }

    // ------------------------------------------------------------------ the runner's side

    /// <summary>
    /// The runner, first of all: takes its end from <see cref="Variable"/> (removed from its
    /// environment, so the job never sees it) and makes it close-on-exec, so no process it
    /// starts inherits it.
    /// </summary>
    public static void Adopt()
    {
        var text = Environment.GetEnvironmentVariable(Variable);
        if (text is null) return;
        Environment.SetEnvironmentVariable(Variable, null);
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var fd) && fd > 2 && FcntlNative(fd, F_SETFD, FD_CLOEXEC) == 0)
        {
            s_runnerEnd = fd;
        }
    }

    /// <summary>
    /// The runner, once runner.json is durable (or it is otherwise done with the start): sends
    /// the byte and closes its end. Idempotent; a submitter that went away is not an error.
    /// </summary>
    public static unsafe void Send()
    {
        var fd = Interlocked.Exchange(ref s_runnerEnd, -1);
        if (fd < 0) return;
        byte one = 1;
        _ = SendNative(fd, &one, 1, MSG_NOSIGNAL);
        LocalNative.Close(fd);
    }
}
