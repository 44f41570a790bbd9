using System.Collections;
using System.Globalization;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Submission;

/// <summary>
/// The validated resource request of a job: the seed's <c>cpu</c>, <c>memory_gb</c> and
/// <c>time_hours</c>, plus <c>gpu</c>. A null value means "the backend's default".
/// </summary>
public sealed record ResourceRequirements(int? Cpu, double? MemoryGb, double? TimeHours, int? Gpu)
{
    /// <summary>No request at all: every backend uses its defaults.</summary>
    public static ResourceRequirements None { get; } = new(null, null, null, null);

    /// <summary>The accepted keys, as the seed spells them.</summary>
    public static IReadOnlyList<string> Keys { get; } = ["cpu", "memory_gb", "time_hours", "gpu"];

    // Upper bounds that no real request reaches; past them a value is a typo (16000 for 16).
    internal const int MaxCpu = 4096;
    internal const double MaxMemoryGb = 65536;      // 64 TiB
    internal const double MaxTimeHours = 24 * 366;  // a year
    internal const int MaxGpu = 64;

    /// <summary>
    /// Validates a caller's dictionary (a PowerShell hashtable, JSON object, …). Keys are
    /// case-insensitive; values may be numbers or numeric strings. Throws
    /// <see cref="CcatException"/> with <see cref="CcatErrorId.InvalidResourceRequirement"/>
    /// naming the key for unknown keys, non-numbers, NaN/infinity, zero, negative or absurd values.
    /// </summary>
    public static ResourceRequirements FromDictionary(IDictionary? values)
    {
        if (values is null || values.Count == 0)
        {
            return None;
        }

        int? cpu = null, gpu = null;
        double? mem = null, time = null;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry entry in values)
        {
            var key = Convert.ToString(entry.Key, CultureInfo.InvariantCulture)?.Trim() ?? "";
            if (!seen.Add(key))
            {
                throw Error(key, "is given twice");
            }

            switch (key.ToLowerInvariant())
            {
                case "cpu":
                    cpu = ToWhole(key, entry.Value, MaxCpu);
                    break;
                case "gpu":
                    gpu = ToWhole(key, entry.Value, MaxGpu);
                    break;
                case "memory_gb":
                    mem = ToPositive(key, entry.Value, MaxMemoryGb);
                    break;
                case "time_hours":
                    time = ToPositive(key, entry.Value, MaxTimeHours);
                    break;
                default:
                    throw new CcatException(CcatErrorId.InvalidResourceRequirement,
                        $"Unknown resource requirement '{key}'. Valid keys: {string.Join(", ", Keys)}.");
            }
        }

        return new ResourceRequirements(cpu, mem, time, gpu);
    }

    private static double ToNumber(string key, object? value)
    {
        value = Unwrap(value);
        switch (value)
        {
            case null:
                throw Error(key, "has no value");
            case bool:
                throw Error(key, $"must be a number, not the boolean {value}");
            case string s:
                if (double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
                {
                    return parsed;
                }

                throw Error(key, $"must be a number, not '{s}'");
            case IConvertible c when value is byte or sbyte or short or ushort or int or uint or long or ulong or float or double or decimal:
                return c.ToDouble(CultureInfo.InvariantCulture);
            default:
                throw Error(key, $"must be a number, not a {value.GetType().Name}");
        }
    }

    private static double ToPositive(string key, object? value, double max)
    {
        var d = ToNumber(key, value);
        if (double.IsNaN(d) || double.IsInfinity(d))
        {
            throw Error(key, $"must be a finite number, not {d.ToString(CultureInfo.InvariantCulture)}");
        }

        if (d <= 0)
        {
            throw Error(key, $"must be greater than zero, not {d.ToString(CultureInfo.InvariantCulture)}");
        }

        if (d > max)
        {
            throw Error(key, $"is {d.ToString(CultureInfo.InvariantCulture)}, more than the largest sensible value {max.ToString(CultureInfo.InvariantCulture)}");
        }

        return d;
    }

    private static int ToWhole(string key, object? value, int max)
    {
        var d = ToPositive(key, value, max);
        if (d != Math.Floor(d))
        {
            throw Error(key, $"must be a whole number, not {d.ToString(CultureInfo.InvariantCulture)}");
        }

        return (int)d;
    }

    // PowerShell hands over PSObject wrappers; Core has no PowerShell reference, so the cmdlet
    // layer unwraps before calling. Anything left with a BaseObject-like shape is rejected above.
    private static object? Unwrap(object? value) => value;

    private static CcatException Error(string key, string what) =>
        new(CcatErrorId.InvalidResourceRequirement, $"Resource requirement '{key}' {what}.");

    /// <summary>The request as the seed's dictionary (only the keys that are set).</summary>
    public IReadOnlyDictionary<string, double> ToDictionary()
    {
        var d = new Dictionary<string, double>();
        if (Cpu is { } c) d["cpu"] = c;
        if (MemoryGb is { } m) d["memory_gb"] = m;
        if (TimeHours is { } t) d["time_hours"] = t;
        if (Gpu is { } g) d["gpu"] = g;
        return d;
    }
}
