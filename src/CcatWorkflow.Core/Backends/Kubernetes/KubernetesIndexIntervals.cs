using System.Globalization;
using System.Text;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// The interval strings of an Indexed Job's <c>status.completedIndexes</c> and
/// <c>status.failedIndexes</c> ("1,3-5,7"), as the Job controller writes them: ascending, a run
/// of three or more as "a-b", a pair listed ("1,2").
/// </summary>
public static class KubernetesIndexIntervals
{
    /// <summary>The indexes in <paramref name="text"/>; empty for null or "". Malformed items are skipped.</summary>
    public static HashSet<int> Parse(string? text)
    {
        var set = new HashSet<int>();
        if (string.IsNullOrWhiteSpace(text)) return set;
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = item.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                if (int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var one)) set.Add(one);
                continue;
            }

            if (int.TryParse(item[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                && int.TryParse(item[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var last))
            {
                for (var i = first; i <= last; i++) set.Add(i);
            }
        }

        return set;
    }

    /// <summary>The interval string of <paramref name="indexes"/>, in the controller's form.</summary>
    public static string Format(IEnumerable<int> indexes)
    {
        var sorted = indexes.Distinct().Order().ToList();
        var sb = new StringBuilder();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(sorted[i].ToString(CultureInfo.InvariantCulture));
            if (j == i + 1) sb.Append(',').Append(sorted[j].ToString(CultureInfo.InvariantCulture));
            else if (j > i) sb.Append('-').Append(sorted[j].ToString(CultureInfo.InvariantCulture));
            i = j + 1;
        }

        return sb.ToString();
    }
}
