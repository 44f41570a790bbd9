using System.Text.RegularExpressions;
using k8s.Models;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>
/// The subset of the API server's validation a Job submitter can trip over, with the real
/// field paths and messages: names, labels, restart policy, containers, env, volumes,
/// resources, deadlines.
/// </summary>
public static partial class Validation
{
    private const string Rfc1123LabelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    private const string Rfc1123SubdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    private const string LabelValueMessage = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    private const string QualifiedNameMessage = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Rfc1123Label();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Rfc1123Subdomain();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex QualifiedNamePart();

    [GeneratedRegex("^[-._a-zA-Z0-9]+$")]
    private static partial Regex ConfigMapKey();

    /// <summary>True for a DNS-1123 label of at most 63 characters.</summary>
    public static bool IsDnsLabel(string? s) => s is { Length: > 0 and <= 63 } && Rfc1123Label().IsMatch(s);

    /// <summary>Validates a Job as the batch/v1 create path does (after defaulting).</summary>
    public static List<Cause> ValidateJob(V1Job job)
    {
        var errors = new List<Cause>();
        ValidateMeta(job.Metadata, errors, nameIsLabel: true);
        var spec = job.Spec;
        if (spec is null)
        {
            errors.Add(Required("spec"));
            return errors;
        }

        NonNegative(errors, "spec.backoffLimit", spec.BackoffLimit);
        NonNegative(errors, "spec.ttlSecondsAfterFinished", spec.TtlSecondsAfterFinished);
        NonNegative(errors, "spec.completions", spec.Completions);
        NonNegative(errors, "spec.parallelism", spec.Parallelism);
        ValidateCompletionMode(spec, errors);
        if (spec.ActiveDeadlineSeconds is { } ads && ads <= 0)
        {
            errors.Add(new Cause("FieldValueInvalid", "spec.activeDeadlineSeconds", $"Invalid value: {ads}: must be greater than or equal to 0"));
        }

        if (spec.Template?.Spec is null)
        {
            errors.Add(Required("spec.template.spec"));
            return errors;
        }

        ValidateLabels(spec.Template.Metadata?.Labels, "spec.template.metadata.labels", errors);
        var rp = spec.Template.Spec.RestartPolicy;
        if (string.IsNullOrEmpty(rp))
        {
            errors.Add(new Cause("FieldValueRequired", "spec.template.spec.restartPolicy", "Required value: valid values: \"OnFailure\", \"Never\""));
        }
        else if (rp is not ("OnFailure" or "Never"))
        {
            errors.Add(new Cause("FieldValueNotSupported", "spec.template.spec.restartPolicy", $"Unsupported value: \"{rp}\": supported values: \"OnFailure\", \"Never\""));
        }

        ValidatePodSpec(spec.Template.Spec, "spec.template.spec", errors);
        return errors;
    }

    /// <summary>Validates a bare Pod.</summary>
    public static List<Cause> ValidatePod(V1Pod pod)
    {
        var errors = new List<Cause>();
        ValidateMeta(pod.Metadata, errors, nameIsLabel: false);
        if (pod.Spec is null)
        {
            errors.Add(Required("spec"));
            return errors;
        }

        if (pod.Spec.RestartPolicy is { } rp && rp is not ("Always" or "OnFailure" or "Never"))
        {
            errors.Add(new Cause("FieldValueNotSupported", "spec.restartPolicy", $"Unsupported value: \"{rp}\": supported values: \"Always\", \"OnFailure\", \"Never\""));
        }

        ValidatePodSpec(pod.Spec, "spec", errors);
        return errors;
    }

    /// <summary>Validates a ConfigMap: name, labels, keys, size (1 MiB).</summary>
    public static List<Cause> ValidateConfigMap(V1ConfigMap cm)
    {
        var errors = new List<Cause>();
        ValidateMeta(cm.Metadata, errors, nameIsLabel: false);
        long size = 0;
        foreach (var (k, v) in cm.Data ?? new Dictionary<string, string>())
        {
            if (!ConfigMapKey().IsMatch(k) || k.Length > 253)
            {
                errors.Add(new Cause("FieldValueInvalid", $"data[{k}]", $"Invalid value: \"{k}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
            }

            size += k.Length + System.Text.Encoding.UTF8.GetByteCount(v ?? "");
        }

        if (size > 1024 * 1024)
        {
            errors.Add(new Cause("FieldValueTooLong", "data", "Too long: must have at most 1048576 bytes"));
        }

        return errors;
    }

    /// <summary>Validates a Secret (after stringData is merged): name, labels, keys, total size (1 MiB).</summary>
    public static List<Cause> ValidateSecret(V1Secret secret)
    {
        var errors = new List<Cause>();
        ValidateMeta(secret.Metadata, errors, nameIsLabel: false);
        long size = 0;
        foreach (var (k, v) in secret.Data ?? new Dictionary<string, byte[]>())
        {
            if (!ConfigMapKey().IsMatch(k) || k.Length > 253)
            {
                errors.Add(new Cause("FieldValueInvalid", $"data[{k}]", $"Invalid value: \"{k}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
            }

            size += v?.Length ?? 0;
        }

        if (size > 1024 * 1024)
        {
            errors.Add(new Cause("FieldValueTooLong", "data", "Too long: must have at most 1048576 bytes"));
        }

        return errors;
    }

    private static void ValidateMeta(V1ObjectMeta? meta, List<Cause> errors, bool nameIsLabel)
    {
        var name = meta?.Name;
        if (string.IsNullOrEmpty(name))
        {
            errors.Add(new Cause("FieldValueRequired", "metadata.name", "Required value: name or generateName is required"));
        }
        else if (nameIsLabel)
        {
            if (!Rfc1123Label().IsMatch(name)) errors.Add(new Cause("FieldValueInvalid", "metadata.name", $"Invalid value: \"{name}\": {Rfc1123LabelMessage}"));
            if (name.Length > 63) errors.Add(new Cause("FieldValueInvalid", "metadata.name", $"Invalid value: \"{name}\": must be no more than 63 characters"));
        }
        else if (!Rfc1123Subdomain().IsMatch(name) || name.Length > 253)
        {
            errors.Add(new Cause("FieldValueInvalid", "metadata.name", $"Invalid value: \"{name}\": {Rfc1123SubdomainMessage}"));
        }

        ValidateLabels(meta?.Labels, "metadata.labels", errors);
        if (meta?.Annotations is { } ann)
        {
            long total = ann.Sum(kv => kv.Key.Length + (kv.Value?.Length ?? 0));
            if (total > 256 * 1024) errors.Add(new Cause("FieldValueTooLong", "metadata.annotations", "Too long: must have at most 262144 bytes"));
            foreach (var k in ann.Keys) ValidateQualifiedKey(k, "metadata.annotations", errors);
        }
    }

    /// <summary>Validates label keys and values.</summary>
    public static void ValidateLabels(IDictionary<string, string>? labels, string field, List<Cause> errors)
    {
        if (labels is null) return;
        foreach (var (k, v) in labels)
        {
            ValidateQualifiedKey(k, field, errors);
            if (v is null) continue;
            if (v.Length > 63) errors.Add(new Cause("FieldValueInvalid", field, $"Invalid value: \"{v}\": must be no more than 63 characters"));
            if (!LabelValue().IsMatch(v)) errors.Add(new Cause("FieldValueInvalid", field, $"Invalid value: \"{v}\": {LabelValueMessage}"));
        }
    }

    private static void ValidateQualifiedKey(string key, string field, List<Cause> errors)
    {
        var parts = key.Split('/');
        var name = parts[^1];
        var prefixOk = parts.Length == 1 || (parts.Length == 2 && parts[0].Length <= 253 && Rfc1123Subdomain().IsMatch(parts[0]));
        if (parts.Length > 2 || !prefixOk || name.Length == 0 || name.Length > 63 || !QualifiedNamePart().IsMatch(name))
        {
            errors.Add(new Cause("FieldValueInvalid", field, $"Invalid value: \"{key}\": {QualifiedNameMessage}"));
        }
    }

    private static void ValidatePodSpec(V1PodSpec spec, string path, List<Cause> errors)
    {
        var volumeNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (v, i) in (spec.Volumes ?? []).Select((v, i) => (v, i)))
        {
            var vp = $"{path}.volumes[{i}]";
            if (string.IsNullOrEmpty(v.Name)) errors.Add(Required($"{vp}.name"));
            else if (!IsDnsLabel(v.Name)) errors.Add(new Cause("FieldValueInvalid", $"{vp}.name", $"Invalid value: \"{v.Name}\": {Rfc1123LabelMessage}"));
            else if (!volumeNames.Add(v.Name)) errors.Add(new Cause("FieldValueDuplicate", $"{vp}.name", $"Duplicate value: \"{v.Name}\""));
            var sources = new object?[] { v.HostPath, v.PersistentVolumeClaim, v.EmptyDir, v.ConfigMap, v.Secret, v.Projected, v.Nfs }.Count(x => x is not null);
            if (sources == 0) errors.Add(new Cause("FieldValueRequired", vp, "Required value: must specify a volume type"));
            else if (sources > 1) errors.Add(new Cause("FieldValueForbidden", vp, "Forbidden: may not specify more than 1 volume type"));
            if (v.HostPath is { } hp)
            {
                if (string.IsNullOrEmpty(hp.Path)) errors.Add(Required($"{vp}.hostPath.path"));
                if (hp.Type is { Length: > 0 } t && t is not ("DirectoryOrCreate" or "Directory" or "FileOrCreate" or "File" or "Socket" or "CharDevice" or "BlockDevice"))
                {
                    errors.Add(new Cause("FieldValueNotSupported", $"{vp}.hostPath.type", $"Unsupported value: \"{t}\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\""));
                }
            }

            if (v.PersistentVolumeClaim is { } pvc && string.IsNullOrEmpty(pvc.ClaimName)) errors.Add(Required($"{vp}.persistentVolumeClaim.claimName"));
        }

        if (spec.Containers is null || spec.Containers.Count == 0)
        {
            errors.Add(Required($"{path}.containers"));
        }
        else
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (c, i) in spec.Containers.Select((c, i) => (c, i)))
            {
                var cp = $"{path}.containers[{i}]";
                if (string.IsNullOrEmpty(c.Name)) errors.Add(Required($"{cp}.name"));
                else if (!IsDnsLabel(c.Name)) errors.Add(new Cause("FieldValueInvalid", $"{cp}.name", $"Invalid value: \"{c.Name}\": {Rfc1123LabelMessage}"));
                else if (!names.Add(c.Name)) errors.Add(new Cause("FieldValueDuplicate", $"{cp}.name", $"Duplicate value: \"{c.Name}\""));
                if (string.IsNullOrWhiteSpace(c.Image)) errors.Add(Required($"{cp}.image"));
                foreach (var (e, j) in (c.Env ?? []).Select((e, j) => (e, j)))
                {
                    if (string.IsNullOrEmpty(e.Name)) errors.Add(Required($"{cp}.env[{j}].name"));
                    else if (e.Name.Any(ch => ch < 32 || ch > 126 || ch == '='))
                    {
                        errors.Add(new Cause("FieldValueInvalid", $"{cp}.env[{j}].name", $"Invalid value: \"{e.Name}\": a valid environment variable name must consist only of printable ASCII characters other than '='"));
                    }

                    if (e.ValueFrom is { } from)
                    {
                        var ep = $"{cp}.env[{j}].valueFrom";
                        if (!string.IsNullOrEmpty(e.Value))
                        {
                            errors.Add(new Cause("FieldValueInvalid", ep, "Invalid value: \"\": may not be specified when `value` is not empty"));
                        }

                        var sources = new object?[] { from.FieldRef, from.ResourceFieldRef, from.ConfigMapKeyRef, from.SecretKeyRef }.Count(x => x is not null);
                        if (sources != 1)
                        {
                            errors.Add(new Cause("FieldValueInvalid", ep, "Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
                        }

                        if (from.SecretKeyRef is { } sk)
                        {
                            if (string.IsNullOrEmpty(sk.Name)) errors.Add(Required($"{ep}.secretKeyRef.name"));
                            if (string.IsNullOrEmpty(sk.Key)) errors.Add(Required($"{ep}.secretKeyRef.key"));
                            else if (!ConfigMapKey().IsMatch(sk.Key))
                            {
                                errors.Add(new Cause("FieldValueInvalid", $"{ep}.secretKeyRef.key", $"Invalid value: \"{sk.Key}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
                            }
                        }
                    }
                }

                foreach (var (m, j) in (c.VolumeMounts ?? []).Select((m, j) => (m, j)))
                {
                    if (string.IsNullOrEmpty(m.Name)) errors.Add(Required($"{cp}.volumeMounts[{j}].name"));
                    else if (!volumeNames.Contains(m.Name)) errors.Add(new Cause("FieldValueNotFound", $"{cp}.volumeMounts[{j}].name", $"Not found: \"{m.Name}\""));
                    if (string.IsNullOrEmpty(m.MountPath)) errors.Add(Required($"{cp}.volumeMounts[{j}].mountPath"));
                    if (m.SubPath is { } sp && (sp.StartsWith('/') || sp.Split('/').Contains("..")))
                    {
                        errors.Add(new Cause("FieldValueInvalid", $"{cp}.volumeMounts[{j}].subPath", $"Invalid value: \"{sp}\": must be a relative path without '..'"));
                    }
                }

                ValidateResources(c.Resources, $"{cp}.resources", errors);
            }
        }

        if (spec.NodeSelector is { } ns) ValidateLabels(ns, $"{path}.nodeSelector", errors);
        if (spec.ServiceAccountName is { Length: > 0 } sa && !Rfc1123Subdomain().IsMatch(sa))
        {
            errors.Add(new Cause("FieldValueInvalid", $"{path}.serviceAccountName", $"Invalid value: \"{sa}\": {Rfc1123SubdomainMessage}"));
        }

        if (spec.ActiveDeadlineSeconds is { } ads && ads <= 0)
        {
            errors.Add(new Cause("FieldValueInvalid", $"{path}.activeDeadlineSeconds", $"Invalid value: {ads}: must be between 1 and 2147483647, inclusive"));
        }
    }

    private static void ValidateResources(V1ResourceRequirements? r, string path, List<Cause> errors)
    {
        if (r is null) return;
        foreach (var (name, q) in r.Requests ?? new Dictionary<string, ResourceQuantity>())
        {
            decimal req;
            try { req = q.ToDecimal(); }
            catch (FormatException) { errors.Add(new Cause("FieldValueInvalid", $"{path}.requests[{name}]", $"Invalid value: \"{q}\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")); continue; }
            if (req < 0) errors.Add(new Cause("FieldValueInvalid", $"{path}.requests[{name}]", $"Invalid value: \"{q}\": must be greater than or equal to 0"));
            if (r.Limits is not null && r.Limits.TryGetValue(name, out var lim))
            {
                decimal l;
                try { l = lim.ToDecimal(); }
                catch (FormatException) { continue; }
                if (req > l) errors.Add(new Cause("FieldValueInvalid", $"{path}.requests", $"Invalid value: \"{q}\": must be less than or equal to {name} limit of {lim}"));
                if (name.Contains('/') && !name.StartsWith("kubernetes.io/", StringComparison.Ordinal) && req != l)
                {
                    errors.Add(new Cause("FieldValueInvalid", $"{path}.requests[{name}]", $"Invalid value: \"{q}\": must be equal to {name} limit of {lim}"));
                }
            }
        }
    }

    private static void NonNegative(List<Cause> errors, string field, long? value)
    {
        if (value is < 0) errors.Add(new Cause("FieldValueInvalid", field, $"Invalid value: {value}: must be greater than or equal to 0"));
    }

    private static Cause Required(string field) => new("FieldValueRequired", field, "Required value");

    // The Indexed-mode rules of pkg/apis/batch/validation (wording as the real server's).
    private static void ValidateCompletionMode(V1JobSpec spec, List<Cause> errors)
    {
        var mode = spec.CompletionMode;
        if (mode is not ("NonIndexed" or "Indexed"))
        {
            errors.Add(new Cause("FieldValueNotSupported", "spec.completionMode", $"Unsupported value: \"{mode}\": supported values: \"NonIndexed\", \"Indexed\""));
            return;
        }

        if (mode == "Indexed")
        {
            if (spec.Completions is null)
            {
                errors.Add(new Cause("FieldValueRequired", "spec.completions", "Required value: when completion mode is Indexed"));
            }
            else if (spec.Completions > 100_000 && spec.BackoffLimitPerIndex is not null)
            {
                errors.Add(new Cause("FieldValueInvalid", "spec.completions", $"Invalid value: {spec.Completions}: must be less than or equal to 100000 when backoffLimitPerIndex is specified"));
            }
        }

        if (spec.BackoffLimitPerIndex is { } per)
        {
            if (mode != "Indexed") errors.Add(new Cause("FieldValueRequired", "spec.backoffLimitPerIndex", "Required value: requires indexed completion mode"));
            NonNegative(errors, "spec.backoffLimitPerIndex", per);
        }

        if (spec.MaxFailedIndexes is { } max)
        {
            if (spec.BackoffLimitPerIndex is null) errors.Add(new Cause("FieldValueRequired", "spec.backoffLimitPerIndex", "Required value: when maxFailedIndexes is specified"));
            else if (spec.Completions is { } c && max > c) errors.Add(new Cause("FieldValueInvalid", "spec.maxFailedIndexes", $"Invalid value: {max}: must be less than or equal to completions"));
            NonNegative(errors, "spec.maxFailedIndexes", max);
        }
    }
}
