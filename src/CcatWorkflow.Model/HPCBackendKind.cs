using System.Collections.Concurrent;

namespace CcatWorkflow;

/// <summary>
/// Which backend owns a job: <see cref="Slurm"/>, <see cref="Kubernetes"/>, <see cref="Local"/>,
/// or a backend registered later. A name, not an enum, so a new backend needs no edit here:
/// its registration (the engine's backend descriptor) calls <see cref="Define"/>.
/// </summary>
/// <remarks>
/// PowerShell binds <c>-Backend Slurm</c> and the <c>Backend</c> property of piped objects through
/// <see cref="Parse"/>, which accepts exactly one known name (any case): <c>'Slurm,Local'</c> or
/// an unknown name is an error that lists the valid ones. <c>$job.Backend -eq 'Local'</c> works
/// the same way; <see cref="ToString"/> is the name.
/// </remarks>
public readonly struct HPCBackendKind : IEquatable<HPCBackendKind>, IComparable<HPCBackendKind>, IComparable
{
    // Declared before the built-ins below: static fields initialise in text order.
    private static readonly ConcurrentDictionary<string, HPCBackendKind> Names = new(StringComparer.OrdinalIgnoreCase);
    private static readonly List<HPCBackendKind> Ordered = [];

    private readonly string? _name;

    private HPCBackendKind(string name) => _name = name;

    /// <summary>Production HPC batch jobs through sbatch, squeue, sacct and scancel.</summary>
    public static HPCBackendKind Slurm { get; } = Define("Slurm");

    /// <summary>Kubernetes Jobs (the staging site).</summary>
    public static HPCBackendKind Kubernetes { get; } = Define("Kubernetes");

    /// <summary>A process on this machine, tracked in a file or Redis job store.</summary>
    public static HPCBackendKind Local { get; } = Define("Local");

    /// <summary>The backend's name (Slurm, Kubernetes, Local, …).</summary>
    public string Name => _name ?? "";

    /// <summary>Every defined backend, in the order defined.</summary>
    public static IReadOnlyList<HPCBackendKind> All
    {
        get
        {
            lock (Ordered)
            {
                return Ordered.ToArray();
            }
        }
    }

    /// <summary>
    /// Defines a backend name (and other names it answers to, such as <c>k8s</c>); returns the
    /// existing kind when the name is already defined. Called by the engine's backend registry.
    /// </summary>
    public static HPCBackendKind Define(string name, params string[] aliases)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_')))
        {
            throw new ArgumentException($"'{name}' cannot be a backend name: use letters, digits, '-' or '_'.", nameof(name));
        }

        HPCBackendKind kind;
        lock (Ordered)
        {
            kind = Names.GetOrAdd(name, n => new HPCBackendKind(n));
            if (!Ordered.Contains(kind)) Ordered.Add(kind);
        }

        foreach (var alias in aliases ?? [])
        {
            var existing = Names.GetOrAdd(alias, kind);
            if (existing != kind)
            {
                throw new ArgumentException($"'{alias}' already names the {existing} backend.", nameof(aliases));
            }
        }

        return kind;
    }

    /// <summary>
    /// The backend named <paramref name="text"/> (one name, any case, surrounding spaces
    /// ignored); an unknown name, or several, is an error listing the valid names.
    /// </summary>
    public static HPCBackendKind Parse(string text) =>
        TryParse(text, out var kind) ? kind
            : throw new ArgumentException($"'{text}' is not a backend; valid backends: {ValidNames}.", nameof(text));

    /// <summary>Looks a backend name up; false when it names none (or several).</summary>
    public static bool TryParse(string? text, out HPCBackendKind kind)
    {
        kind = default;
        return text is not null && Names.TryGetValue(text.Trim(), out kind);
    }

    /// <summary>The valid names, for messages: "Slurm, Kubernetes, Local".</summary>
    public static string ValidNames => string.Join(", ", All.Select(k => k.Name));

    /// <inheritdoc />
    public bool Equals(HPCBackendKind other) => string.Equals(_name, other._name, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is HPCBackendKind k && Equals(k);

    /// <inheritdoc />
    public override int GetHashCode() => _name is null ? 0 : StringComparer.Ordinal.GetHashCode(_name);

    /// <inheritdoc />
    public int CompareTo(HPCBackendKind other) => string.CompareOrdinal(_name, other._name);

    /// <inheritdoc />
    public int CompareTo(object? obj) => obj is HPCBackendKind k ? CompareTo(k) : 1;

    /// <summary>The name.</summary>
    public override string ToString() => Name;

    /// <summary>Same backend.</summary>
    public static bool operator ==(HPCBackendKind left, HPCBackendKind right) => left.Equals(right);

    /// <summary>Different backends.</summary>
    public static bool operator !=(HPCBackendKind left, HPCBackendKind right) => !left.Equals(right);

    /// <summary>Ordinal order of the names.</summary>
    public static bool operator <(HPCBackendKind left, HPCBackendKind right) => left.CompareTo(right) < 0;

    /// <summary>Ordinal order of the names.</summary>
    public static bool operator >(HPCBackendKind left, HPCBackendKind right) => left.CompareTo(right) > 0;

    /// <summary>Ordinal order of the names.</summary>
    public static bool operator <=(HPCBackendKind left, HPCBackendKind right) => left.CompareTo(right) <= 0;

    /// <summary>Ordinal order of the names.</summary>
    public static bool operator >=(HPCBackendKind left, HPCBackendKind right) => left.CompareTo(right) >= 0;
}
