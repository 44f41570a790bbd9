using System.Collections.Concurrent;
using System.Diagnostics;

namespace CcatWorkflow.Commands.Completion;

/// <summary>
/// A short-lived cache for completion lists: pressing Tab several times in a row asks the
/// backend once. Entries live a few seconds, so a job submitted a moment ago soon shows.
/// </summary>
internal static class CompletionCache
{
    /// <summary>How long a list is reused.</summary>
    public static TimeSpan Lifetime { get; } = TimeSpan.FromSeconds(5);

    private static readonly ConcurrentDictionary<string, (long At, object Value)> Entries = new(StringComparer.Ordinal);

    /// <summary>The cached value for <paramref name="key"/>, or a fresh one from <paramref name="load"/>.</summary>
    public static T Get<T>(string key, Func<T> load)
        where T : class => Get(key, load, Lifetime);

    /// <summary>The cached value for <paramref name="key"/> if younger than <paramref name="lifetime"/>, or a fresh one from <paramref name="load"/>.</summary>
    public static T Get<T>(string key, Func<T> load, TimeSpan lifetime)
        where T : class
    {
        if (Entries.TryGetValue(key, out var e) && Stopwatch.GetElapsedTime(e.At) < lifetime && e.Value is T cached)
        {
            return cached;
        }

        var value = load();
        Entries[key] = (Stopwatch.GetTimestamp(), value);
        return value;
    }
}
