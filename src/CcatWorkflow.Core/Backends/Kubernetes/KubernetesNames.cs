using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Names, labels and annotations the Kubernetes backend puts on what it creates. The job id is
/// the Kubernetes Job name: the job name made into an RFC 1123 label plus a random suffix.
/// </summary>
public static partial class KubernetesNames
{
    /// <summary>The standard "managed by" label; every object the module creates carries it.</summary>
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";

    /// <summary>The value of <see cref="ManagedByLabel"/>.</summary>
    public const string ManagedByValue = "ccat-workflow";

    /// <summary>Label holding the job id on the Job, its pods and its record.</summary>
    public const string JobIdLabel = "ccat-workflow/job-id";

    /// <summary>Label holding the job name, made into a valid label value.</summary>
    public const string JobNameLabel = "ccat-workflow/job-name";

    /// <summary>Annotation holding the job name exactly as given.</summary>
    public const string JobNameAnnotation = "ccat-workflow/job-name";

    /// <summary>Label telling the record ConfigMap (<c>job</c>) from the captured-log ConfigMap (<c>log</c>).</summary>
    public const string RecordLabel = "ccat-workflow/record";

    /// <summary>
    /// The labels that mark an object as this module's, for job <paramref name="jobId"/> (plus the
    /// record kind, when given): the one ownership mark listing and removal check, so every
    /// object the module creates carries it the same way.
    /// </summary>
    public static Dictionary<string, string> OwnedLabels(string jobId, string? record = null)
    {
        var labels = new Dictionary<string, string>
        {
            [ManagedByLabel] = ManagedByValue,
            [JobIdLabel] = jobId,
        };
        if (record is not null) labels[RecordLabel] = record;
        return labels;
    }

    /// <summary>The one container of the pod.</summary>
    public const string ContainerName = "main";

    /// <summary>Selector matching every object the module manages.</summary>
    public const string ManagedBySelector = ManagedByLabel + "=" + ManagedByValue;

    /// <summary>Length of the random suffix. Kubernetes' own generateName uses 5 characters.</summary>
    public const int SuffixLength = 5;

    // The alphabet Kubernetes uses for generated names: no vowels (no words), no 0/1/3 (no look-alikes).
    private const string SuffixAlphabet = "bcdfghjklmnpqrstvwxz2456789";

    /// <summary>Longest Job name: Kubernetes copies it into the pods' <c>job-name</c> label, so 63.</summary>
    public const int MaxNameLength = 63;

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc1123LabelRegex();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelValueRegex();

    /// <summary>True for a lowercase RFC 1123 label of at most 63 characters (what a job id must be).</summary>
    public static bool IsValidJobId(string? id) =>
        id is { Length: > 0 and <= MaxNameLength } && Rfc1123LabelRegex().IsMatch(id);

    /// <summary>True for a DNS subdomain name (dot-separated RFC 1123 labels, at most 253): service accounts, claims.</summary>
    public static bool IsDnsSubdomain(string name) =>
        name.Length <= 253 && name.Split('.').All(IsValidJobId);

    /// <summary>True for a valid Kubernetes label value (at most 63 characters).</summary>
    public static bool IsValidLabelValue(string value) => value.Length <= 63 && LabelValueRegex().IsMatch(value);

    /// <summary>
    /// A new, unique job id for <paramref name="jobName"/>: the name lower-cased, every run of
    /// characters outside <c>[a-z0-9]</c> turned into one '-', trimmed to leave room for
    /// '-' and a random 5-character suffix within 63 characters.
    /// </summary>
    public static string NewJobId(string jobName) => NewJobId(jobName, RandomSuffix());

    /// <summary>The job id for <paramref name="jobName"/> with a given suffix (tests).</summary>
    public static string NewJobId(string jobName, string suffix)
    {
        var stem = Sanitize(jobName, MaxNameLength - SuffixLength - 1);
        return (stem.Length == 0 ? "job" : stem) + "-" + suffix;
    }

    /// <summary>A random suffix from Kubernetes' generated-name alphabet.</summary>
    public static string RandomSuffix()
    {
        Span<char> chars = stackalloc char[SuffixLength];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = SuffixAlphabet[RandomNumberGenerator.GetInt32(SuffixAlphabet.Length)];
        }

        return new string(chars);
    }

    /// <summary>
    /// <paramref name="jobName"/> as a label value: characters outside <c>[A-Za-z0-9-_.]</c>
    /// become '-', at most 63 characters, starting and ending with an alphanumeric.
    /// </summary>
    public static string ToLabelValue(string jobName)
    {
        var sb = new StringBuilder(jobName.Length);
        foreach (var c in jobName)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-');
        }

        var s = sb.ToString();
        if (s.Length > 63) s = s[..63];
        return s.Trim('-', '_', '.');
    }

    /// <summary>The name of the ConfigMap that holds a job's captured log.</summary>
    public static string LogConfigMapName(string jobId) => jobId + ".log"; // a dot can never be in a job id

    /// <summary>
    /// The name of the ConfigMap that holds the saved log of element <paramref name="index"/> of
    /// array <paramref name="arrayId"/> (an element id's '_' is not allowed in a name).
    /// </summary>
    public static string ElementLogConfigMapName(string arrayId, int index) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{arrayId}.{index}.log");

    private static string Sanitize(string name, int maxLength)
    {
        var sb = new StringBuilder(name.Length);
        var dash = false;
        foreach (var ch in name.ToLowerInvariant())
        {
            if (ch is >= 'a' and <= 'z' or >= '0' and <= '9')
            {
                sb.Append(ch);
                dash = false;
            }
            else if (!dash && sb.Length > 0)
            {
                sb.Append('-');
                dash = true;
            }
        }

        var s = sb.ToString();
        if (s.Length > maxLength) s = s[..maxLength];
        return s.Trim('-');
    }
}
