using System.Diagnostics;
using CcatWorkflow.Core.Diagnostics;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Writes every Kubernetes API request to the engine log: method, path, status and duration
/// (verbose), and the query string (debug). Headers — where the token is — are never logged.
/// </summary>
internal sealed class KubernetesCallLogger : DelegatingHandler
{
    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!CcatLog.IsEnabled)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var start = Stopwatch.GetTimestamp();
        var path = request.RequestUri?.AbsolutePath ?? "";
        if (request.RequestUri?.Query is { Length: > 0 } query) CcatLog.Debug($"{request.Method} {path}{query}");
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            CcatLog.Verbose($"Kubernetes API {request.Method} {path}: {CcatLog.Milliseconds(start)} ms, {(int)response.StatusCode} {response.ReasonPhrase}");
            return response;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            CcatLog.Verbose($"Kubernetes API {request.Method} {path}: {CcatLog.Milliseconds(start)} ms, no answer ({e.GetType().Name})");
            throw;
        }
    }
}
