using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Errors;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Slurm's compressed array-element ids as sacct (and squeue without <c>--array</c>) print the
/// pending part of an array in one row: <c>123_[8-99]</c>, <c>123_[1,3-5%2]</c>. Expanded
/// here into one id per element, so each element has its own row like the ones that started.
/// </summary>
public static class SlurmArrayIds
{
    /// <summary>True when <paramref name="jobId"/> is a compressed row (<c>123_[…]</c>).</summary>
    public static bool IsCompressed(string jobId) =>
        jobId.Contains("_[", StringComparison.Ordinal) && jobId.EndsWith(']');

    /// <summary>
    /// The element ids of a compressed row, in ascending order; the id itself when it is not
    /// compressed; no id at all when its index list cannot be read (a newer Slurm's syntax, or
    /// more elements than <see cref="ArrayIndexSpec.MaxElements"/>): such a row is skipped
    /// rather than guessed.
    /// </summary>
    public static IReadOnlyList<string> Expand(string jobId)
    {
        if (!IsCompressed(jobId)) return [jobId];
        var open = jobId.IndexOf("_[", StringComparison.Ordinal);
        var arrayId = jobId[..open];
        var list = jobId[(open + 2)..^1];
        var percent = list.IndexOf('%');
        if (percent >= 0) list = list[..percent]; // the throttle, not an index
        try
        {
            return ArrayIndexSpec.Parse(list).Indices.Select(i => ArrayElementId.Format(arrayId, i)).ToList();
        }
        catch (CcatException)
        {
            return [];
        }
    }

    /// <summary>
    /// The ids to hand squeue and sacct for a batch: an element id is asked for through its
    /// array's id (both list every element of an array asked for by its id), so a status of
    /// 1000 elements of one array is one short <c>--jobs=</c> list, not 1000 ids.
    /// </summary>
    public static IReadOnlyList<string> QueryIds(IEnumerable<string> jobIds) =>
        jobIds.Select(id => ArrayElementId.ArrayOf(id) ?? id).Distinct(StringComparer.Ordinal).ToList();
}
