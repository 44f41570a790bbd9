using System.Globalization;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Retries;

/// <summary>The small rules of retried submissions that do not need a backend.</summary>
public static class RetryRules
{
    /// <summary>The variable every attempt of a job under a retry policy sees: its attempt number (1, 2, …).</summary>
    public const string AttemptVariable = "CCAT_ATTEMPT";

    /// <summary>
    /// How long a claim may stay without its attempt's id before observers take its claimer for
    /// dead (the process ended between claiming and submitting) and count the attempt as Lost.
    /// </summary>
    public static TimeSpan StaleClaimAge { get; } = TimeSpan.FromMinutes(5);

    /// <summary><paramref name="submission"/> as attempt <paramref name="attempt"/>: <see cref="AttemptVariable"/> set to the number.</summary>
    public static JobSubmission ForAttempt(JobSubmission submission, int attempt)
    {
        ArgumentNullException.ThrowIfNull(submission);
        return submission with
        {
            Environment = [.. submission.Environment.Where(kv => kv.Key != AttemptVariable), new(AttemptVariable, attempt.ToString(CultureInfo.InvariantCulture))],
        };
    }

    /// <summary>
    /// Refuses what a retry policy cannot honour, before anything is submitted: secret variables
    /// (never written anywhere, so no other process could submit the job again with them). An
    /// array under a policy is retried per element (docs/retries.md).
    /// </summary>
    /// <param name="submission">The submission.</param>
    /// <param name="kind">The backend.</param>
    /// <param name="supported">Whether the backend runs retry policies as configured.</param>
    /// <param name="unsupportedWhy">Why it does not, in words, when it can say (ends the refusal's message).</param>
    public static void Check(JobSubmission submission, HPCBackendKind kind, bool supported, string? unsupportedWhy = null)
    {
        ArgumentNullException.ThrowIfNull(submission);
        if (submission.Retry is not { } policy) return;
        if (!supported)
        {
            throw new CcatException(CcatErrorId.NotSupportedOnBackend,
                $"Retry policies (-RetryOn) are not supported on {kind} here; nothing was submitted.{(unsupportedWhy is null ? "" : " " + unsupportedWhy)}");
        }

        if (submission.SecretEnvironment.Count > 0)
        {
            throw new CcatException(CcatErrorId.InvalidRetryPolicy,
                "A retry policy cannot be combined with -SecretEnvironment: secret values are never written anywhere, so no other process could submit the job again with them.");
        }

        policy.Validate(submission.Resources);
    }

    /// <summary>Who is claiming: host and process id, for messages.</summary>
    public static string Claimer => $"{Environment.MachineName}:{Environment.ProcessId}";
}
