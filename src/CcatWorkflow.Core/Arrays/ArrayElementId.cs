using System.Globalization;

namespace CcatWorkflow.Core.Arrays;

/// <summary>
/// The id of one element of a job array on every backend: <c>&lt;arrayId&gt;_&lt;index&gt;</c>
/// (Slurm's own convention). Array ids never contain '_' on any backend (Slurm digits,
/// Kubernetes DNS names, Local UUIDs), so the last '_' splits an element id unambiguously.
/// </summary>
public static class ArrayElementId
{
    /// <summary>The name of the variable every element sees its index in, on every backend.</summary>
    public const string IndexVariable = "CCAT_ARRAY_INDEX";

    /// <summary>The element id of <paramref name="index"/> in array <paramref name="arrayId"/>.</summary>
    public static string Format(string arrayId, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{arrayId}_{index}");

    /// <summary>Splits an element id; false when <paramref name="id"/> is not one.</summary>
    public static bool TryParse(string? id, out string arrayId, out int index)
    {
        arrayId = "";
        index = -1;
        if (id is null) return false;
        var us = id.LastIndexOf('_');
        if (us <= 0 || us == id.Length - 1) return false;
        var tail = id[(us + 1)..];
        if (tail.Length > 7 || !tail.All(char.IsAsciiDigit)) return false;
        arrayId = id[..us];
        index = int.Parse(tail, NumberStyles.None, CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>The array id of an element id, or null when <paramref name="id"/> is not an element id.</summary>
    public static string? ArrayOf(string id) => TryParse(id, out var a, out _) ? a : null;
}
