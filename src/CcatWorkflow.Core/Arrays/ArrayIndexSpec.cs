using System.Globalization;
using System.Text;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Arrays;

/// <summary>
/// The indices of a job array, in Slurm's syntax on every backend: comma-separated items, each
/// an index (<c>7</c>), a range (<c>0-99</c>) or a range with a step (<c>0-99:2</c>). Parsed
/// once here; each backend turns <see cref="Text"/> or <see cref="Indices"/> into its own form.
/// </summary>
public sealed class ArrayIndexSpec
{
    /// <summary>The largest index accepted (Slurm's own ceiling: MaxArraySize is at most 4000001).</summary>
    public const int MaxIndex = 4_000_000;

    /// <summary>The most elements one array may have here (each element is a job the cmdlets return).</summary>
    public const int MaxElements = 10_000;

    private ArrayIndexSpec(string text, IReadOnlyList<int> indices)
    {
        Text = text;
        Indices = indices;
    }

    /// <summary>The spec in canonical form (items as given, whitespace and leading zeros removed): what sbatch gets.</summary>
    public string Text { get; }

    /// <summary>The indices, ascending, without repeats.</summary>
    public IReadOnlyList<int> Indices { get; }

    /// <inheritdoc />
    public override string ToString() => Text;

    /// <summary>
    /// Parses a spec. Throws <see cref="CcatErrorId.InvalidArraySpec"/> naming the bad item for an
    /// empty spec, a malformed item, a range whose end is below its start, a step below 1, an
    /// index above <see cref="MaxIndex"/>, more than <see cref="MaxElements"/> elements, or a
    /// <c>%N</c> suffix (the throttle is <c>-ThrottleLimit</c>).
    /// </summary>
    public static ArrayIndexSpec Parse(string? spec)
    {
        if (string.IsNullOrWhiteSpace(spec))
        {
            throw Invalid(spec ?? "", "it is empty");
        }

        if (spec.Contains('%'))
        {
            throw Invalid(spec, "a '%N' throttle is not part of the index spec: give it as -ThrottleLimit N");
        }

        var set = new SortedSet<int>();
        var canonical = new StringBuilder();
        foreach (var raw in spec.Split(','))
        {
            var item = raw.Trim();
            var (first, last, step) = ParseItem(spec, item);
            for (long i = first; i <= last; i += step)
            {
                set.Add((int)i);
                if (set.Count > MaxElements)
                {
                    throw Invalid(spec, string.Create(CultureInfo.InvariantCulture, $"it has more than {MaxElements} elements"));
                }
            }

            if (canonical.Length > 0) canonical.Append(',');
            canonical.Append(CultureInfo.InvariantCulture, $"{first}");
            if (last != first || step != 1) canonical.Append(CultureInfo.InvariantCulture, $"-{last}");
            if (step != 1) canonical.Append(CultureInfo.InvariantCulture, $":{step}");
        }

        return new ArrayIndexSpec(canonical.ToString(), [.. set]);
    }

    private static (int First, int Last, int Step) ParseItem(string spec, string item)
    {
        if (item.Length == 0) throw Invalid(spec, "it has an empty item");
        var step = 1;
        var colon = item.IndexOf(':');
        var range = item;
        if (colon >= 0)
        {
            step = Number(spec, item, item[(colon + 1)..]);
            if (step < 1) throw Invalid(spec, $"the step of '{item}' is below 1");
            range = item[..colon];
            if (!range.Contains('-')) throw Invalid(spec, $"'{item}' has a step but no range");
        }

        var dash = range.IndexOf('-');
        if (dash < 0)
        {
            var only = Number(spec, item, range);
            return (only, only, 1);
        }

        var first = Number(spec, item, range[..dash]);
        var last = Number(spec, item, range[(dash + 1)..]);
        if (last < first) throw Invalid(spec, $"the range '{item}' ends before it starts");
        return (first, last, step);
    }

    private static int Number(string spec, string item, string text)
    {
        var t = text.Trim();
        if (t.Length == 0 || !t.All(char.IsAsciiDigit))
        {
            throw Invalid(spec, $"'{item}' is not an index, a range 'a-b' or a stepped range 'a-b:s'");
        }

        if (t.TrimStart('0').Length > 7 || int.Parse(t, NumberStyles.None, CultureInfo.InvariantCulture) > MaxIndex)
        {
            throw Invalid(spec, string.Create(CultureInfo.InvariantCulture, $"'{item}' goes above the largest index, {MaxIndex}"));
        }

        return int.Parse(t, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The spec of exactly <paramref name="indices"/> (at least one), runs of consecutive indices
    /// as ranges: <c>1,3,5-9</c>. What a re-run of chosen elements is submitted with.
    /// </summary>
    public static ArrayIndexSpec Of(IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var sorted = indices.Distinct().Order().ToList();
        var sb = new StringBuilder();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(CultureInfo.InvariantCulture, $"{sorted[i]}");
            if (j > i) sb.Append(CultureInfo.InvariantCulture, $"-{sorted[j]}");
            i = j + 1;
        }

        return Parse(sb.ToString());
    }

    /// <summary>Checks a -ThrottleLimit: at least 1, and only with an array.</summary>
    public static void ValidateThrottle(int? throttle, ArrayIndexSpec? array)
    {
        if (throttle is null) return;
        if (array is null)
        {
            throw new CcatException(CcatErrorId.InvalidArraySpec, "-ThrottleLimit limits the running elements of an array: give it with -ArrayIndex.");
        }

        if (throttle < 1)
        {
            throw new CcatException(CcatErrorId.InvalidArraySpec, string.Create(CultureInfo.InvariantCulture, $"-ThrottleLimit must be at least 1 (got {throttle})."));
        }
    }

    private static CcatException Invalid(string spec, string why) =>
        new(CcatErrorId.InvalidArraySpec,
            $"The array index spec '{spec}' is not usable: {why}. Examples: '0-99', '1,3,5-9', '0-99:2'.");
}
