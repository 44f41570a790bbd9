using System.Diagnostics;
using System.Net.Sockets;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Execution;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace CcatWorkflow.Core.Backends.Slurm.Ssh;

/// <summary>
/// One SSH connection to the login node, made on first use and reused by every request of the
/// backend that owns it — and so by every cmdlet of the PowerShell session, since backends are
/// kept per settings fingerprint. A connection that broke is made again on the next request.
/// Commands run in exec channels of that connection; files move over one SFTP session, opened
/// only when a log is read. The host key must be the one pinned in the known_hosts file. With a
/// bastion (SLURM_SSH_PROXY_JUMP) one connection to it carries a local forwarded port to the login
/// node, through which both connections are made; each hop's host key is checked against the file.
/// </summary>
public sealed class SshConnection : IAsyncDisposable
{
    private readonly SshSettings _settings;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SshClient? _ssh;
    private SftpClient? _sftp;
    private SshClient? _jump;
    private ForwardedPortLocal? _forward;
    private int _connects;
    private int _execs;

    /// <summary>Creates the connection (nothing is opened yet).</summary>
    public SshConnection(SshSettings settings) => _settings = settings ?? throw new ArgumentNullException(nameof(settings));

    /// <summary>The login settings.</summary>
    public SshSettings Settings => _settings;

    /// <summary>Logins made so far (the benchmark and tests compare it with sshd's log).</summary>
    public int Connects => _connects;

    /// <summary>Remote commands run so far.</summary>
    public int Execs => _execs;

    /// <summary>
    /// Runs <paramref name="commandLine"/> (already quoted for the remote shell) with
    /// <paramref name="standardInput"/> streamed to it, and returns its exit status and raw output.
    /// A command that runs past <paramref name="timeout"/> throws <see cref="CcatErrorId.SchedulerUnavailable"/>
    /// with an inner <see cref="TimeoutException"/>. When <paramref name="retryOnBrokenConnection"/>,
    /// a connection found broken is made again and the command run once more.
    /// </summary>
    /// <param name="commandLine">The remote command line.</param>
    /// <param name="standardInput">Bytes for its standard input, or null.</param>
    /// <param name="timeout">How long it may run.</param>
    /// <param name="retryOnBrokenConnection">Whether to run it again once on a connection found broken.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <param name="what">What the command does, for the verbose log (never the command text: it may carry job data).</param>
    public async Task<(int ExitCode, byte[] Output, string Error, TimeSpan Duration)> ExecAsync(string commandLine, byte[]? standardInput,
        TimeSpan timeout, bool retryOnBrokenConnection, CancellationToken cancellationToken, string? what = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            var client = await ConnectedSshAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var result = await ExecOnceAsync(client, commandLine, standardInput, timeout, cancellationToken).ConfigureAwait(false);
                Diagnostics.CcatLog.Verbose($"SSH command on {_settings.Host} ({what ?? "command"}): {(long)result.Item4.TotalMilliseconds} ms, exit {result.Item1}");
                return result;
            }
            catch (Exception ex) when (IsBrokenConnection(ex) && !cancellationToken.IsCancellationRequested)
            {
                await DropAsync(client).ConfigureAwait(false);
                if (attempt == 0 && retryOnBrokenConnection) continue;
                throw new CcatException(CcatErrorId.SshHostUnreachable,
                    $"The SSH connection to {_settings.Describe()} broke: {ex.Message}", null, ex);
            }
        }
    }

    private async Task<(int, byte[], string, TimeSpan)> ExecOnceAsync(SshClient client, string commandLine, byte[]? standardInput,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        Interlocked.Increment(ref _execs);
        using var command = client.CreateCommand(commandLine);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var run = command.ExecuteAsync(deadline.Token);
        if (standardInput is not null)
        {
            // Closing the stream sends EOF: the remote program sees the whole script, then end of input.
            await using var input = command.CreateInputStream();
            await input.WriteAsync(standardInput, deadline.Token).ConfigureAwait(false);
        }

        try
        {
            await run.ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CcatException(CcatErrorId.SchedulerUnavailable,
                $"Slurm did not answer: the command on {_settings.Host} ran longer than {timeout.TotalSeconds:0} s.", null, new TimeoutException(ex.Message, ex));
        }

        using var output = new MemoryStream();
        await command.OutputStream.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
        using var error = new StreamReader(command.ExtendedOutputStream);
        var errorText = await error.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        // No exit status: the remote program was ended by a signal (sshd reports the signal instead).
        return (command.ExitStatus ?? 255, output.ToArray(), errorText, watch.Elapsed);
    }

    /// <summary>The SFTP session (made on first use, on its own connection: SSH.NET does not share one between exec and SFTP).</summary>
    public async Task<SftpClient> SftpAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_sftp is { IsConnected: true } live) return live;
            _sftp?.Dispose();
            _sftp = null;
            var (host, port) = await EndpointAsync(cancellationToken).ConfigureAwait(false);
            var client = new SftpClient(ConnectionInfo(_settings, host, port));
            _sftp = await ConnectAsync(client, _settings, cancellationToken).ConfigureAwait(false);
            return _sftp;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs an SFTP operation; a broken session is made again once.</summary>
    public async Task<T> SftpAsync<T>(Func<SftpClient, Task<T>> operation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        for (var attempt = 0; ; attempt++)
        {
            var client = await SftpAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await operation(client).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsBrokenConnection(ex) && !cancellationToken.IsCancellationRequested)
            {
                await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    if (ReferenceEquals(_sftp, client)) _sftp = null;
                    client.Dispose();
                }
                finally
                {
                    _gate.Release();
                }

                if (attempt == 0) continue;
                throw new CcatException(CcatErrorId.SshHostUnreachable, $"The SFTP session with {_settings.Describe()} broke: {ex.Message}", null, ex);
            }
        }
    }

    private async Task<SshClient> ConnectedSshAsync(CancellationToken cancellationToken)
    {
        if (_ssh is { IsConnected: true } live) return live;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ssh is { IsConnected: true } again) return again;
            _ssh?.Dispose();
            _ssh = null;
            var (host, port) = await EndpointAsync(cancellationToken).ConfigureAwait(false);
            _ssh = await ConnectAsync(new SshClient(ConnectionInfo(_settings, host, port)), _settings, cancellationToken).ConfigureAwait(false);
            return _ssh;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task DropAsync(SshClient client)
    {
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (ReferenceEquals(_ssh, client)) _ssh = null;
            client.Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }

    // Where the login node's connections go: the node itself, or the local end of the port the
    // bastion forwards to it (made, or made again when it broke; the caller holds the gate).
    private async Task<(string Host, int Port)> EndpointAsync(CancellationToken cancellationToken)
    {
        if (_settings.Jump is not { } jump) return (_settings.Host, _settings.Port);
        if (_jump is { IsConnected: true } && _forward is { IsStarted: true } live) return ("127.0.0.1", (int)live.BoundPort);
        DropJump();
        var client = await ConnectAsync(new SshClient(ConnectionInfo(jump, jump.Host, jump.Port)), jump, cancellationToken).ConfigureAwait(false);
        try
        {
            // Loopback only, on a port the system picks: the forward is this process's way in.
            var forward = new ForwardedPortLocal("127.0.0.1", _settings.Host, (uint)_settings.Port);
            client.AddForwardedPort(forward);
            forward.Start();
            (_jump, _forward) = (client, forward);
            return ("127.0.0.1", (int)forward.BoundPort);
        }
        catch (Exception ex) when (ex is SshException or SocketException or InvalidOperationException)
        {
            client.Dispose();
            throw new CcatException(CcatErrorId.SshHostUnreachable,
                $"The bastion {jump.Describe()} (SLURM_SSH_PROXY_JUMP) would not forward a port to {_settings.Host}:{_settings.Port}: {ex.Message}", null, ex);
        }
    }

    private void DropJump()
    {
        try
        {
            _forward?.Stop();
        }
        catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Broken already: dropped below.
        }

        _forward?.Dispose();
        _jump?.Dispose();
        _forward = null;
        _jump = null;
    }

    private static ConnectionInfo ConnectionInfo(SshSettings hop, string host, int port)
    {
        PrivateKeyFile key;
        try
        {
            key = hop.Passphrase.Length > 0 ? new PrivateKeyFile(hop.KeyFile, hop.Passphrase) : new PrivateKeyFile(hop.KeyFile);
        }
        catch (Exception ex) when (ex is SshException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            throw new CcatException(CcatErrorId.SshAuthenticationFailed,
                $"The SSH key {hop.KeyFile} (SLURM_SSH_KEY_FILE) cannot be used: {ex.Message}" +
                (ex is SshPassPhraseNullOrEmptyException ? " It is protected by a passphrase: set SLURM_SSH_KEY_PASSPHRASE." : ""), null, ex);
        }

        return new ConnectionInfo(host, port, hop.User, new PrivateKeyAuthenticationMethod(hop.User, key))
        {
            Timeout = hop.ConnectTimeout,
        };
    }

    // Connects and checks the host key of hop (the login node, or the bastion) against the
    // known_hosts file under hop's own name and port, whichever address the socket goes to.
    private async Task<T> ConnectAsync<T>(T client, SshSettings hop, CancellationToken cancellationToken) where T : BaseClient
    {
        string knownHosts;
        try
        {
            knownHosts = await File.ReadAllTextAsync(hop.KnownHostsFile, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            client.Dispose();
            throw new CcatException(CcatErrorId.HostKeyMismatch,
                $"The known_hosts file {hop.KnownHostsFile} (SLURM_SSH_KNOWN_HOSTS) cannot be read ({ex.Message}), so {hop.Host}'s host key cannot be checked; the module never accepts an unchecked key.", null, ex);
        }

        HostKeyVerdict? verdict = null;
        string? fingerprint = null;
        client.HostKeyReceived += (_, e) =>
        {
            verdict = KnownHosts.Check(knownHosts, hop.Host, hop.Port, e.HostKey);
            fingerprint = $"{e.HostKeyName} SHA256:{e.FingerPrintSHA256}";
            e.CanTrust = verdict == HostKeyVerdict.Trusted;
        };
        client.KeepAliveInterval = TimeSpan.FromSeconds(30);
        try
        {
            await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _connects);
            return client;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            if (verdict is HostKeyVerdict.Unknown or HostKeyVerdict.Changed)
            {
                throw new CcatException(CcatErrorId.HostKeyMismatch, verdict == HostKeyVerdict.Unknown
                    ? $"{hop.Host}:{hop.Port} presented host key {fingerprint}, which {hop.KnownHostsFile} (SLURM_SSH_KNOWN_HOSTS) does not hold. Check the key with the cluster's administrators, then add it (ssh-keyscan -p {hop.Port} {hop.Host})."
                    : $"{hop.Host}:{hop.Port} presented host key {fingerprint}, which is NOT the key {hop.KnownHostsFile} (SLURM_SSH_KNOWN_HOSTS) pins for it. The connection was refused: the host may be impersonated, or its key was changed.", null, ex);
            }

            if (ex is SshAuthenticationException)
            {
                throw new CcatException(CcatErrorId.SshAuthenticationFailed,
                    $"{hop.Describe()} refused the key {hop.KeyFile}: {ex.Message}", null, ex);
            }

            throw new CcatException(CcatErrorId.SshHostUnreachable,
                $"Cannot reach the Slurm login node {hop.Describe()} over SSH: {ex.Message}", null, ex);
        }
    }

    private static bool IsBrokenConnection(Exception ex) =>
        ex is SshConnectionException or SocketException or ObjectDisposedException
        || (ex is SshException && ex.Message.Contains("not connected", StringComparison.OrdinalIgnoreCase))
        || (ex is InvalidOperationException && ex.Message.Contains("not connected", StringComparison.OrdinalIgnoreCase));

    /// <summary>Closes the connection and the SFTP session.</summary>
    public ValueTask DisposeAsync()
    {
        _ssh?.Dispose();
        _sftp?.Dispose();
        DropJump();
        _ssh = null;
        _sftp = null;
        _gate.Dispose();
        return ValueTask.CompletedTask;
    }
}
