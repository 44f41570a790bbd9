using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>The two API families of slurmrestd, each with its own versions and DTOs.</summary>
public enum SlurmRestFamily
{
    /// <summary><c>/slurm/vX/…</c>: the controller (<see cref="SlurmApi"/>).</summary>
    Slurm,
    /// <summary><c>/slurmdb/vX/…</c>: accounting (<see cref="SlurmDbApi"/>).</summary>
    SlurmDb,
}

/// <summary>What slurmrestd answered: the HTTP status and the parsed body (null when it was not JSON).</summary>
/// <typeparam name="T">The body's type.</typeparam>
public sealed record SlurmRestAnswer<T>(HttpStatusCode Status, T? Body) where T : SlurmApi.ErrorsOnly
{
    /// <summary>The errors the body carries (HTTP 200 can carry some).</summary>
    public IReadOnlyList<SlurmApi.ApiError> Errors => Body?.Errors ?? [];

    /// <summary>True for 2xx.</summary>
    public bool IsSuccess => (int)Status is >= 200 and < 300;
}

/// <summary>
/// A hand-written client for the few slurmrestd calls the module makes, over HTTP(S) or a unix
/// socket. Every request carries X-SLURM-USER-NAME and X-SLURM-USER-TOKEN (a token checked for
/// expiry first); the API version of each family is the newest the server offers of those the
/// module speaks (asked once: a 404 moves on to the next older one). What an answer means is
/// decided here once: unreachable, refused token, malformed request, server error — each its
/// own error id, none of them a job state.
/// </summary>
public sealed class SlurmRestClient : IDisposable
{
    // slurmctld/slurmdbd errnos that, on 22.05, are how a token they refused shows (the HTTP
    // status is 500 or even 200): -1 "slurmctld config is unable to load" / "Unable to find
    // JobId", 5005 "Zero Bytes were transmitted or received", 1007 "Protocol authentication error".
    private static readonly HashSet<long> TokenRefusedErrors = [-1, 5005, 1007];

    private readonly SlurmRestSettings _settings;
    private readonly SlurmRestTokens _tokens;
    private readonly HttpClient _http;
    private readonly string?[] _versions = new string?[2];
    private int _requests;

    /// <summary>Creates the client (nothing is sent yet); it owns <paramref name="tokens"/> from then on.</summary>
    public SlurmRestClient(SlurmRestSettings settings, SlurmRestTokens tokens, HttpMessageHandler? handler = null)
    {
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _tokens = tokens ?? throw new ArgumentNullException(nameof(tokens));
        _http = new HttpClient(handler ?? CreateHandler(settings), disposeHandler: true)
        {
            BaseAddress = settings.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan, // each request has its own deadline
        };
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    /// <summary>Requests sent so far (tests and benchmarks count scheduler calls with it).</summary>
    public int Requests => _requests;

    /// <summary>The settings.</summary>
    public SlurmRestSettings Settings => _settings;

    /// <summary>The API version in use for <paramref name="family"/>; null until the first request of it.</summary>
    public string? VersionOf(SlurmRestFamily family) => _versions[(int)family];

    /// <summary>
    /// Sends one request to <c>/&lt;family&gt;/&lt;version&gt;/&lt;path&gt;</c>. A 2xx or 5xx answer is
    /// returned (the caller reads its errors); 401 is <see cref="CcatErrorId.SlurmRestAuthenticationFailed"/>,
    /// other 4xx <see cref="CcatErrorId.SlurmRestRequestRejected"/>, no answer <see cref="CcatErrorId.SlurmRestUnreachable"/>.
    /// </summary>
    public async Task<SlurmRestAnswer<T>> SendAsync<T>(HttpMethod method, SlurmRestFamily family, string path, object? body,
        JsonTypeInfo<T> responseType, CancellationToken cancellationToken) where T : SlurmApi.ErrorsOnly
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(responseType);
        var credentials = await _tokens.GetAsync(cancellationToken).ConfigureAwait(false);
        var candidates = _versions[(int)family] is { } known ? [known] : family == SlurmRestFamily.Slurm ? SlurmApi.Versions : SlurmDbApi.Versions;
        var prefix = family == SlurmRestFamily.Slurm ? "slurm" : "slurmdb";
        foreach (var version in candidates)
        {
            var (status, text) = await SendOnceAsync(method, $"{prefix}/{version}/{path}", body, credentials, cancellationToken).ConfigureAwait(false);
            if (status == HttpStatusCode.NotFound && _versions[(int)family] is null) continue; // this version is not served
            if (status == HttpStatusCode.Unauthorized)
            {
                if (_tokens.CanRefresh) _tokens.Forget();
                throw new CcatException(CcatErrorId.SlurmRestAuthenticationFailed,
                    $"slurmrestd at {_settings.Describe()} refused the request as user '{credentials.User}' (HTTP 401: {FirstLine(text)}): check SLURM_REST_USER and SLURM_REST_TOKEN, and that slurmrestd runs with rest_auth/jwt.");
            }

            _versions[(int)family] = version;
            var parsed = Parse(text, responseType);
            if ((int)status is >= 400 and < 500)
            {
                throw new CcatException(CcatErrorId.SlurmRestRequestRejected,
                    $"slurmrestd at {_settings.Describe()} refused {method} /{prefix}/{version}/{path} (HTTP {(int)status}): {Describe(parsed?.Errors, text)}");
            }

            var answer = new SlurmRestAnswer<T>(status, parsed);
            if (answer.Errors.FirstOrDefault(e => e.Number is { } n && TokenRefusedErrors.Contains(n)) is { } refused
                && (answer.Errors.Any(e => e.Number == 1007) || !answer.IsSuccess))
            {
                if (_tokens.CanRefresh) _tokens.Forget();
                throw new CcatException(CcatErrorId.SlurmRestAuthenticationFailed,
                    $"slurmrestd at {_settings.Describe()} answered HTTP {(int)status} '{refused}' to {method} /{prefix}/{version}/{path}: on Slurm 22.05 this is how a token the cluster refuses shows (signed with another key, expired, or made for another user than '{credentials.User}').");
            }

            if (parsed is null && !answer.IsSuccess)
            {
                throw new CcatException(CcatErrorId.SlurmRestServerError,
                    $"slurmrestd at {_settings.Describe()} answered HTTP {(int)status} to {method} /{prefix}/{version}/{path}: {FirstLine(text)}");
            }

            return answer;
        }

        // Every version answered 404: ask the server what it serves, to say so.
        throw new CcatException(CcatErrorId.SlurmRestVersionUnsupported,
            SlurmRestVersions.Unsupported(_settings.Describe(), family, candidates, await OfferedAsync(credentials, cancellationToken).ConfigureAwait(false)));
    }

    // The versions slurmrestd's own description lists; null when it could not be read (the
    // message then says so: the versions we speak were refused all the same).
    private async Task<IReadOnlyDictionary<SlurmRestFamily, IReadOnlyList<string>>?> OfferedAsync(SlurmRestCredentials credentials, CancellationToken cancellationToken)
    {
        try
        {
            var (status, text) = await SendOnceAsync(HttpMethod.Get, SlurmRestVersions.OpenApiPath, null, credentials, cancellationToken).ConfigureAwait(false);
            return (int)status is >= 200 and < 300 ? SlurmRestVersions.Offered(text) : null;
        }
        catch (CcatException)
        {
            return null;
        }
    }

    /// <summary>
    /// A 5xx answer (or errors the caller does not handle) as <see cref="CcatErrorId.SlurmRestServerError"/>:
    /// the scheduler could not be asked, never a job state.
    /// </summary>
    public CcatException ServerError<T>(SlurmRestAnswer<T> answer, string what) where T : SlurmApi.ErrorsOnly
    {
        ArgumentNullException.ThrowIfNull(answer);
        return new CcatException(CcatErrorId.SlurmRestServerError,
            $"slurmrestd at {_settings.Describe()} could not {what} (HTTP {(int)answer.Status}): {Describe(answer.Errors, "")}");
    }

    /// <summary>The errors as one line for a message.</summary>
    public static string Describe(IReadOnlyList<SlurmApi.ApiError>? errors, string fallback) =>
        errors is { Count: > 0 } ? string.Join("; ", errors.Select(e => e.ToString())) : FirstLine(fallback);

    private async Task<(HttpStatusCode Status, string Text)> SendOnceAsync(HttpMethod method, string relative, object? body,
        SlurmRestCredentials credentials, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, relative);
        request.Headers.TryAddWithoutValidation("X-SLURM-USER-NAME", credentials.User);
        request.Headers.TryAddWithoutValidation("X-SLURM-USER-TOKEN", credentials.Token);
        if (body is SlurmApi.SubmitRequest submit)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(submit, SlurmRestJson.Context.SubmitRequest), Encoding.UTF8);
            // Exactly this: slurmrestd 22.05 answers "Unable to parse query" (400) to "application/json; charset=utf-8".
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_settings.RequestTimeout);
        Interlocked.Increment(ref _requests);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);
            return (response.StatusCode, text);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CcatException(CcatErrorId.SlurmRestUnreachable,
                $"slurmrestd at {_settings.Describe()} did not answer {method} /{relative} within {_settings.RequestTimeout.TotalSeconds:0} s.", null, new TimeoutException(ex.Message, ex));
        }
        catch (HttpRequestException ex)
        {
            throw new CcatException(CcatErrorId.SlurmRestUnreachable,
                $"slurmrestd at {_settings.Describe()} could not be reached: {ex.InnerException?.Message ?? ex.Message}", null, ex);
        }
    }

    private static T? Parse<T>(string text, JsonTypeInfo<T> type) where T : class
    {
        if (text.Length == 0 || (text.TrimStart() is var t && !t.StartsWith('{'))) return null;
        try
        {
            return JsonSerializer.Deserialize(text, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string FirstLine(string text)
    {
        var line = (text ?? "").Trim().Split('\n')[0].Trim();
        return line.Length > 300 ? line[..300] + "…" : line.Length == 0 ? "(no text)" : line;
    }

    private static SocketsHttpHandler CreateHandler(SlurmRestSettings settings)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(20),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            MaxConnectionsPerServer = 8,
        };
        if (settings.SocketPath is { } path)
        {
            handler.ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        return handler;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        _tokens.Dispose();
    }
}
