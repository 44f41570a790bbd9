using System.Globalization;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>A JWT for slurmrestd and the user it acts for.</summary>
/// <param name="Token">The JWT (a secret: never shown, never written).</param>
/// <param name="User">X-SLURM-USER-NAME.</param>
public sealed record SlurmRestCredentials(string Token, string User)
{
    /// <summary>No secret in the text form.</summary>
    public override string ToString() => "token for " + User;
}

/// <summary>
/// Where the REST transport gets its token: SLURM_REST_TOKEN while it is valid, else — when SSH
/// is configured — <c>scontrol token</c> on the login node, asked again before the token expires.
/// A token is never sent once its <c>exp</c> claim says it is (about to be) expired: slurmrestd
/// 22.05 would answer with a misleading server error.
/// </summary>
public sealed class SlurmRestTokens : IDisposable
{
    /// <summary>How long a token asked for over SSH lives (seconds).</summary>
    public const int Lifespan = 3600;

    private readonly string _configured;
    private readonly string _user;
    private readonly ISlurmShell? _shell;
    private readonly Func<DateTimeOffset> _clock;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string Token, SlurmJwt? Claims)? _fetched;

    /// <summary>Creates the source.</summary>
    /// <param name="configuredToken">SLURM_REST_TOKEN (may be empty).</param>
    /// <param name="user">SLURM_REST_USER (empty = the token's own user).</param>
    /// <param name="shell">The login node's shell for <c>scontrol token</c>; null when SSH is not configured.</param>
    /// <param name="clock">The time (tests move it).</param>
    public SlurmRestTokens(string configuredToken, string user, ISlurmShell? shell, Func<DateTimeOffset>? clock = null)
    {
        _configured = configuredToken ?? "";
        _user = user ?? "";
        _shell = shell;
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
        if (_configured.Length == 0 && _shell is null)
        {
            throw new CcatException(CcatErrorId.InvalidConfiguration,
                "Setting SLURM_REST_TOKEN is empty and no SSH login node is configured to ask for one: set SLURM_REST_TOKEN (from `scontrol token lifespan=<seconds>` on the cluster) or SLURM_SSH_HOST.");
        }
    }

    /// <summary>Tokens asked for over SSH so far.</summary>
    public int Fetches { get; private set; }

    /// <summary>A token that is valid for a while yet, and the user to name.</summary>
    public async Task<SlurmRestCredentials> GetAsync(CancellationToken cancellationToken)
    {
        var now = _clock();
        if (_configured.Length > 0)
        {
            var claims = SlurmJwt.TryRead(_configured)
                ?? throw new CcatException(CcatErrorId.SlurmRestAuthenticationFailed,
                    "Setting SLURM_REST_TOKEN is not a JWT (three base64url parts): copy the text after SLURM_JWT= that `scontrol token` prints.");
            if (claims.IsUsableAt(now, TimeSpan.FromSeconds(30))) return new(_configured, UserFor(claims));
            if (_shell is null)
            {
                throw new CcatException(CcatErrorId.SlurmRestTokenExpired, string.Create(CultureInfo.InvariantCulture,
                    $"The token in SLURM_REST_TOKEN {(claims.ExpiresAt <= now ? "expired" : "expires")} at {claims.ExpiresAt:u} (its exp claim), so it was not sent. Get a new one on the cluster with `scontrol token lifespan=<seconds>`, or set SLURM_SSH_HOST and leave SLURM_REST_TOKEN empty: the module then asks for tokens itself."));
            }
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_fetched is { } f && (f.Claims?.IsUsableAt(now, f.Claims.RefreshMargin) ?? false)) return new(f.Token, UserFor(f.Claims));
            var token = await FetchAsync(cancellationToken).ConfigureAwait(false);
            var fresh = SlurmJwt.TryRead(token);
            _fetched = (token, fresh);
            return new(token, UserFor(fresh));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forgets a token asked for over SSH (slurmrestd refused it): the next request asks for a new one.</summary>
    public void Forget() => _fetched = null;

    /// <summary>True when a refused token can be replaced by asking the login node again.</summary>
    public bool CanRefresh => _shell is not null;

    /// <inheritdoc />
    public void Dispose() => _gate.Dispose();

    private string UserFor(SlurmJwt? claims) =>
        _user.Length > 0 ? _user : claims?.User is { Length: > 0 } sun ? sun : Environment.UserName;

    private async Task<string> FetchAsync(CancellationToken cancellationToken)
    {
        Fetches++;
        var result = await _shell!.RunAsync(new SlurmCommandLine("scontrol", ["token", "lifespan=" + Lifespan.ToString(CultureInfo.InvariantCulture)],
            SlurmCommands.QueryEnvironment()), SlurmCommands.QueryTimeout, cancellationToken).ConfigureAwait(false);
        var token = ParseTokenOutput(result.StandardOutput);
        if (!result.Succeeded || token is null)
        {
            // stderr only: stdout would hold the token.
            throw new CcatException(CcatErrorId.SlurmRestAuthenticationFailed,
                $"`scontrol token` on the login node gave no token (exit code {result.ExitCode}): {SlurmCommands.FirstLines(result.StandardError, "")} — the cluster needs AuthAltTypes=auth/jwt for slurmrestd.");
        }

        return token;
    }

    /// <summary>The token of <c>scontrol token</c>'s output (<c>SLURM_JWT=eyJ…</c>); null when there is none.</summary>
    public static string? ParseTokenOutput(string output)
    {
        foreach (var raw in (output ?? "").Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("SLURM_JWT=", StringComparison.Ordinal) && line.Length > "SLURM_JWT=".Length) return line["SLURM_JWT=".Length..];
        }

        return null;
    }
}
