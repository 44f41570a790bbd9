using k8s;
using k8s.Models;

namespace CcatWorkflow.KubeApiDouble;

/// <summary>A resource type the double serves.</summary>
public sealed class ResourceKind
{
    private ResourceKind(string group, string version, string plural, string kind, Type type)
    {
        Group = group;
        Version = version;
        Plural = plural;
        Kind = kind;
        Type = type;
    }

    /// <summary>batch/v1 Jobs.</summary>
    public static ResourceKind Jobs { get; } = new("batch", "v1", "jobs", "Job", typeof(V1Job));

    /// <summary>v1 Pods.</summary>
    public static ResourceKind Pods { get; } = new("", "v1", "pods", "Pod", typeof(V1Pod));

    /// <summary>v1 ConfigMaps.</summary>
    public static ResourceKind ConfigMaps { get; } = new("", "v1", "configmaps", "ConfigMap", typeof(V1ConfigMap));

    /// <summary>v1 Secrets.</summary>
    public static ResourceKind Secrets { get; } = new("", "v1", "secrets", "Secret", typeof(V1Secret));

    /// <summary>v1 ServiceAccounts (pods of a namespace authenticate as one; see <see cref="Cluster.ServiceAccountToken"/>).</summary>
    public static ResourceKind ServiceAccounts { get; } = new("", "v1", "serviceaccounts", "ServiceAccount", typeof(V1ServiceAccount));

    /// <summary>rbac.authorization.k8s.io/v1 Roles.</summary>
    public static ResourceKind Roles { get; } = new("rbac.authorization.k8s.io", "v1", "roles", "Role", typeof(V1Role));

    /// <summary>rbac.authorization.k8s.io/v1 RoleBindings.</summary>
    public static ResourceKind RoleBindings { get; } = new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", typeof(V1RoleBinding));

    /// <summary>All kinds.</summary>
    public static IReadOnlyList<ResourceKind> All { get; } = [Jobs, Pods, ConfigMaps, Secrets, ServiceAccounts, Roles, RoleBindings];

    /// <summary>The kind served under <paramref name="group"/>/<paramref name="plural"/>, or null.</summary>
    public static ResourceKind? Find(string group, string plural) => All.FirstOrDefault(k => k.Group == group && k.Plural == plural);

    /// <summary>API group ("" for core).</summary>
    public string Group { get; }

    /// <summary>Version.</summary>
    public string Version { get; }

    /// <summary>Plural resource name.</summary>
    public string Plural { get; }

    /// <summary>Kind.</summary>
    public string Kind { get; }

    /// <summary>The model type.</summary>
    public Type Type { get; }

    /// <summary>apiVersion of the objects.</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>"jobs.batch" or "pods", as error messages spell it.</summary>
    public string QualifiedPlural => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    /// <summary>The URL prefix of the namespaced collection, with {ns} to fill in.</summary>
    public string PathPrefix => Group.Length == 0 ? "/api/v1/namespaces/{ns}/" + Plural : $"/apis/{Group}/{Version}/namespaces/{{ns}}/{Plural}";

    /// <summary>Parses a body into the model type.</summary>
    public IKubernetesObject<V1ObjectMeta> Deserialize(string json) => Type switch
    {
        var t when t == typeof(V1Job) => KubernetesJson.Deserialize<V1Job>(json),
        var t when t == typeof(V1Pod) => KubernetesJson.Deserialize<V1Pod>(json),
        var t when t == typeof(V1Secret) => KubernetesJson.Deserialize<V1Secret>(json),
        var t when t == typeof(V1ServiceAccount) => KubernetesJson.Deserialize<V1ServiceAccount>(json),
        var t when t == typeof(V1Role) => KubernetesJson.Deserialize<V1Role>(json),
        var t when t == typeof(V1RoleBinding) => KubernetesJson.Deserialize<V1RoleBinding>(json),
        _ => KubernetesJson.Deserialize<V1ConfigMap>(json),
    };

    /// <summary>A list object of this kind.</summary>
    public object MakeList(IEnumerable<IKubernetesObject<V1ObjectMeta>> items, string resourceVersion)
    {
        var meta = new V1ListMeta { ResourceVersion = resourceVersion };
        return Type switch
        {
            var t when t == typeof(V1Job) => new V1JobList { ApiVersion = ApiVersion, Kind = "JobList", Metadata = meta, Items = items.Cast<V1Job>().ToList() },
            var t when t == typeof(V1Pod) => new V1PodList { ApiVersion = ApiVersion, Kind = "PodList", Metadata = meta, Items = items.Cast<V1Pod>().ToList() },
            var t when t == typeof(V1Secret) => new V1SecretList { ApiVersion = ApiVersion, Kind = "SecretList", Metadata = meta, Items = items.Cast<V1Secret>().ToList() },
            var t when t == typeof(V1ServiceAccount) => new V1ServiceAccountList { ApiVersion = ApiVersion, Kind = "ServiceAccountList", Metadata = meta, Items = items.Cast<V1ServiceAccount>().ToList() },
            var t when t == typeof(V1Role) => new V1RoleList { ApiVersion = ApiVersion, Kind = "RoleList", Metadata = meta, Items = items.Cast<V1Role>().ToList() },
            var t when t == typeof(V1RoleBinding) => new V1RoleBindingList { ApiVersion = ApiVersion, Kind = "RoleBindingList", Metadata = meta, Items = items.Cast<V1RoleBinding>().ToList() },
            _ => new V1ConfigMapList { ApiVersion = ApiVersion, Kind = "ConfigMapList", Metadata = meta, Items = items.Cast<V1ConfigMap>().ToList() },
        };
    }

    /// <inheritdoc />
    public override string ToString() => QualifiedPlural;
}
