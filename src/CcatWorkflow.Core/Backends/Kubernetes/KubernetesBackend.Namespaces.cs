using System.Collections.Concurrent;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;
using k8s;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Jobs in a namespace other than K8S_NAMESPACE (Submit-CcatJob -Namespace): such a job's id
/// carries its namespace, <c>namespace/name</c> (kubectl's form), so status, cancel, logs and
/// removal find it from any session. Each of those entry points hands the ids of another
/// namespace to a backend for that namespace (same settings otherwise; made once per
/// namespace) and gives the answers back under the qualified ids. An array there is
/// <c>namespace/name</c> too, and so are its elements (<c>namespace/name_index</c>) and their
/// <see cref="HPCJobInfo.ArrayJobId"/>. The listing (Get-CcatJob) covers K8S_NAMESPACE: listing
/// every namespace would need cluster-wide rights.
/// </summary>
public sealed partial class KubernetesBackend
{
    private readonly ConcurrentDictionary<string, KubernetesBackend> _elsewhere = new(StringComparer.Ordinal);

    /// <summary>Splits a job id into its namespace (null: K8S_NAMESPACE) and the Job's name.</summary>
    public static (string? Namespace, string Name) SplitJobId(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var slash = jobId.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (null, jobId) : (jobId[..slash], jobId[(slash + 1)..]);
    }

    /// <summary>
    /// True for a <c>namespace/name</c> id: a valid namespace name, then a Job name or an array
    /// element's id (<c>name_index</c>).
    /// </summary>
    public static bool IsQualifiedJobId(string? jobId) =>
        jobId is not null && SplitJobId(jobId) is ({ } ns, var name) && KubernetesNames.IsValidJobId(ns) && IsValidId(name);

    /// <inheritdoc />
    public override IReadOnlyCollection<string> SchedulerOptionNames { get; } = [nameof(JobSchedulerOptions.Namespace)];

    /// <inheritdoc />
    /// <remarks>The namespaces the API server lists (one read-only call); none when it may not be asked.</remarks>
    public override async Task<IReadOnlyList<string>> PeekSchedulerOptionValuesAsync(string optionName, CancellationToken cancellationToken)
    {
        if (optionName != nameof(JobSchedulerOptions.Namespace)) return [];
        try
        {
            var list = await CallAsync("listing namespaces", (c, ct) => c.CoreV1.ListNamespaceAsync(cancellationToken: ct), cancellationToken).ConfigureAwait(false);
            return list.Items.Select(n => n.Metadata?.Name).OfType<string>().Order(StringComparer.Ordinal).ToList();
        }
        catch (CcatException)
        {
            return []; // e.g. no right to list namespaces: only the configured one is offered
        }
    }

    // The backend of another namespace, or null for K8S_NAMESPACE itself.
    private KubernetesBackend? ElsewhereFor(string? ns) =>
        ns is null || ns == _options.Namespace ? null
        : _elsewhere.GetOrAdd(ns, n => new KubernetesBackend(_options with { Namespace = n }, _getEnvironment, _time));

    // The namespace a submission asks for, checked like K8S_NAMESPACE; null for K8S_NAMESPACE.
    private string? RequestedNamespace(JobSubmission submission)
    {
        if (submission.SchedulerOptions.Namespace?.Trim() is not { } ns || ns == _options.Namespace) return null;
        if (!KubernetesNames.IsValidJobId(ns))
        {
            throw new CcatException(CcatErrorId.InvalidSubmission,
                $"-Namespace '{ns}' is not a valid namespace name (lowercase letters, digits and '-', at most 63); nothing was submitted.");
        }

        return ns;
    }

    private static JobSubmission WithoutNamespace(JobSubmission submission) =>
        submission with { SchedulerOptions = submission.SchedulerOptions with { Namespace = null } };

    // Ids of other namespaces go to their backends (bare), the rest to op on this one; answers
    // come back under the ids as given. Null when every id is in K8S_NAMESPACE.
    private async Task<IReadOnlyList<JobQueryResult>?> AcrossNamespacesAsync(IReadOnlyList<string> jobIds,
        Func<KubernetesBackend, IReadOnlyList<string>, CancellationToken, Task<IReadOnlyList<JobQueryResult>>> op, CancellationToken cancellationToken)
    {
        if (!jobIds.Any(IsQualifiedJobId)) return null;
        var groups = jobIds.GroupBy(id => IsQualifiedJobId(id) ? SplitJobId(id).Namespace : null).ToList();
        var answers = await Task.WhenAll(groups.Select(async g =>
        {
            if (ElsewhereFor(g.Key) is not { } other)
            {
                // K8S_NAMESPACE's own ids: "ns/name" of the configured namespace is its bare name.
                var bare = g.Select(id => IsQualifiedJobId(id) ? SplitJobId(id).Name : id).ToList();
                var here = await op(this, bare, cancellationToken).ConfigureAwait(false);
                return Requalified(here, g.ToList(), bare, null);
            }

            var names = g.Select(id => SplitJobId(id).Name).ToList();
            var there = await op(other, names, cancellationToken).ConfigureAwait(false);
            return Requalified(there, g.ToList(), names, g.Key);
        })).ConfigureAwait(false);
        return answers.SelectMany(a => a).ToList();
    }

    // Answers under the ids as given; the jobs of another namespace (ns) known by ns/name.
    private static List<JobQueryResult> Requalified(IReadOnlyList<JobQueryResult> results, List<string> given, List<string> asked, string? ns)
    {
        var byAsked = asked.Zip(given).GroupBy(p => p.First, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Second, StringComparer.Ordinal);
        string Qualified(string name) => ns is null ? name : ns + "/" + name;
        // An element names its array by the array's qualified id as well.
        HPCJobInfo QualifiedInfo(HPCJobInfo info) => info.WithJobId(Qualified(info.JobId)) is var q && info is { ArrayJobId: { } array, ArrayIndex: { } index }
            ? q.WithArrayElement(Qualified(array), index)
            : q;
        return results.Select(r => byAsked.TryGetValue(r.JobId, out var id)
            ? r with
            {
                JobId = id,
                Info = r.Info is null ? null : QualifiedInfo(r.Info),
                Elements = r.Elements?.Select(QualifiedInfo).ToList(),
            }
            : r).ToList();
    }

    // A log read or follow of a job in another namespace: its backend and bare name.
    private (KubernetesBackend Backend, string Name) LogTarget(string jobId) =>
        IsQualifiedJobId(jobId) && ElsewhereFor(SplitJobId(jobId).Namespace) is { } other ? (other, SplitJobId(jobId).Name)
        : IsQualifiedJobId(jobId) ? (this, SplitJobId(jobId).Name)
        : (this, jobId);
}
