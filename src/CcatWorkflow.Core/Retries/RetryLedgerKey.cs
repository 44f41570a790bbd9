using System.Globalization;
using CcatWorkflow.Core.Arrays;

namespace CcatWorkflow.Core.Retries;

/// <summary>
/// Where a ledger keeps one job's retry state. A job keeps it in its own record; an element of
/// an array under a policy (<c>&lt;array&gt;_&lt;index&gt;</c>) keeps its claims in its array's
/// record, apart from the other elements', under the array's one plan — so every ledger holds an
/// array's retries where it holds the array, and removing the array removes them.
/// </summary>
/// <param name="OwnerId">The id whose record holds the ledger: the job's own, or its array's.</param>
/// <param name="ElementIndex">The element's index; null for a job that is not an array element.</param>
public readonly record struct RetryLedgerKey(string OwnerId, int? ElementIndex)
{
    /// <summary>The key of <paramref name="jobId"/>.</summary>
    public static RetryLedgerKey Of(string jobId) =>
        ArrayElementId.TryParse(jobId, out var array, out var index) ? new(array, index) : new(jobId, null);

    /// <summary>
    /// The name of a claim: <paramref name="attemptPrefix"/> and the attempt for a job of its
    /// own; for an element, <paramref name="elementPrefix"/>, its index,
    /// <paramref name="elementAttemptPrefix"/> and the attempt (e.g. <c>retry-attempt-2</c> and
    /// <c>retry-element-7-attempt-2</c>).
    /// </summary>
    public string ClaimName(string attemptPrefix, string elementPrefix, string elementAttemptPrefix, int attempt) =>
        ClaimPrefix(attemptPrefix, elementPrefix, elementAttemptPrefix) + attempt.ToString(CultureInfo.InvariantCulture);

    /// <summary>What every claim name of this key starts with (see <see cref="ClaimName"/>).</summary>
    public string ClaimPrefix(string attemptPrefix, string elementPrefix, string elementAttemptPrefix) =>
        ElementIndex is { } i ? elementPrefix + i.ToString(CultureInfo.InvariantCulture) + elementAttemptPrefix : attemptPrefix;

    /// <summary>
    /// The claims among <paramref name="names"/> (name, text) that belong to this key: the
    /// attempt number after <see cref="ClaimPrefix"/> and before <paramref name="suffix"/>.
    /// </summary>
    public Dictionary<int, string> Claims(IEnumerable<KeyValuePair<string, string>> names, string attemptPrefix, string elementPrefix, string elementAttemptPrefix, string suffix = "")
    {
        ArgumentNullException.ThrowIfNull(names);
        var prefix = ClaimPrefix(attemptPrefix, elementPrefix, elementAttemptPrefix);
        var claims = new Dictionary<int, string>();
        foreach (var (name, text) in names)
        {
            if (name.Length > prefix.Length + suffix.Length && name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(suffix, StringComparison.Ordinal)
                && int.TryParse(name.AsSpan(prefix.Length, name.Length - prefix.Length - suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                claims[n] = text;
            }
        }

        return claims;
    }
}
