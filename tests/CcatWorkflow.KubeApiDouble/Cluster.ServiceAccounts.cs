using System.Security.Cryptography;
using k8s.Models;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>
/// Service accounts as pods see them: in run mode an init container gets its pod's projected
/// token, the CA and the namespace at <c>/var/run/secrets/kubernetes.io/serviceaccount</c>
/// (bubblewrap mounts them there for that process only) and <c>KUBERNETES_SERVICE_HOST</c>/
/// <c>_PORT</c> pointing at this server. Requests with such a token are authorised as the real
/// RBAC authoriser does for <c>system:serviceaccount:&lt;ns&gt;:&lt;name&gt;</c>: allowed when a
/// RoleBinding in the request's namespace binds the account to a Role of that namespace with a
/// rule matching the API group, resource (subresources as <c>pods/log</c>), verb and, if the
/// rule names any, the object's name; otherwise 403 with RBAC's wording. ClusterRoles are not
/// modelled. The admin token (<see cref="KubeApiDoubleOptions.Token"/>) is allowed everything.
/// </summary>
public sealed partial class Cluster
{
    /// <summary>Where the kubelet projects a pod's service-account token.</summary>
    public const string ServiceAccountMountPath = "/var/run/secrets/kubernetes.io/serviceaccount";

    private readonly Dictionary<string, (string Ns, string Name)> _serviceAccountTokens = new(StringComparer.Ordinal);

    /// <summary>Host, port and CA (PEM, when HTTPS) of this server, as pods reach it.</summary>
    public (string Host, int Port, string? CaPem)? ApiEndpoint { get; set; }

    /// <summary>A token that authenticates as service account <paramref name="name"/> of <paramref name="ns"/>.</summary>
    public string ServiceAccountToken(string ns, string name)
    {
        lock (Gate)
        {
            var token = "sa." + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
            _serviceAccountTokens[token] = (ns, name);
            return token;
        }
    }

    /// <summary>The service account a token was minted for, or null for any other token.</summary>
    public (string Ns, string Name)? ServiceAccountOfToken(string token)
    {
        lock (Gate) return _serviceAccountTokens.TryGetValue(token, out var sa) ? sa : null;
    }

    /// <summary>Throws the real 403 unless a Role bound to the account allows the request.</summary>
    public void Authorize((string Ns, string Name) account, ApiRequest request)
    {
        var user = $"system:serviceaccount:{account.Ns}:{account.Name}";
        lock (Gate)
        {
            if (request.Namespace is { } ns)
            {
                var roles = _store[ResourceKind.RoleBindings].Values.OfType<V1RoleBinding>()
                    .Where(b => b.Metadata.NamespaceProperty == ns && b.RoleRef?.Kind == "Role"
                                && b.Subjects?.Any(s => s.Kind == "ServiceAccount" && s.Name == account.Name && (s.NamespaceProperty ?? ns) == account.Ns) == true)
                    .Select(b => _store[ResourceKind.Roles].GetValueOrDefault((ns, b.RoleRef.Name)) as V1Role)
                    .OfType<V1Role>();
                if (roles.SelectMany(r => r.Rules ?? []).Any(rule => Allows(rule, request))) return;
            }
        }

        throw new FailureRule { Code = 403 }.ToError(request, user);
    }

    private static bool Allows(V1PolicyRule rule, ApiRequest r)
    {
        static bool Has(IList<string>? list, string value) => list?.Any(v => v == "*" || v == value) == true;
        var resource = r.Subresource is null ? r.Resource : $"{r.Resource.Split('/')[0]}/{r.Subresource}";
        return Has(rule.ApiGroups, r.Group) && Has(rule.Resources, resource) && Has(rule.Verbs, r.Verb)
               && (rule.ResourceNames is not { Count: > 0 } names || (r.Name is not null && names.Contains(r.Name)));
    }

    // Run mode: the files the kubelet projects for the pod's service account; null when the pod
    // opts out (automountServiceAccountToken: false) or bubblewrap cannot mount them.
    private string? ProjectServiceAccountLocked(V1Pod pod)
    {
        if (pod.Spec.AutomountServiceAccountToken == false || !OperatingSystem.IsLinux() || !File.Exists(Bubblewrap)) return null;
        var dir = Path.Combine(Path.GetTempPath(), "kube-api-double-sa", pod.Metadata.Uid);
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        void Write(string name, string text)
        {
            var path = Path.Combine(dir, name);
            File.WriteAllText(path, text);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var ns = pod.Metadata.NamespaceProperty;
        var token = "sa." + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        _serviceAccountTokens[token] = (ns, pod.Spec.ServiceAccountName ?? "default");
        Write("token", token);
        Write("namespace", ns);
        if (ApiEndpoint?.CaPem is { } ca) Write("ca.crt", ca);
        return dir;
    }

    private const string Bubblewrap = "/usr/bin/bwrap";
}
