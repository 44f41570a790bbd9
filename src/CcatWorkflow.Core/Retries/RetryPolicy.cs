using System.Collections;
using System.Globalization;
using CcatWorkflow.Core.Errors;
using CcatWorkflow.Core.Submission;

namespace CcatWorkflow.Core.Retries;

/// <summary>
/// When and how a failed job is run again (Submit-CcatJob -RetryOn / -RetryPolicy): on which
/// typed reasons, how many attempts in all, and by how much the memory (on OutOfMemory) and the
/// time limit (on Timeout) grow, capped by RETRY_MAX_MEMORY_GB and RETRY_MAX_TIME_HOURS as they
/// were when the job was submitted. It is recorded with the job (docs/retries.md), so whichever
/// process observes a failure applies the same policy.
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>Attempts in all when -MaxAttempts is not given.</summary>
    public const int DefaultMaxAttempts = 3;

    /// <summary>The most attempts a policy may ask for.</summary>
    public const int MostAttempts = 20;

    /// <summary>Memory growth on OutOfMemory when -MemoryGrowth is not given.</summary>
    public const double DefaultMemoryGrowth = 1.5;

    /// <summary>Time-limit growth on Timeout when -TimeGrowth is not given.</summary>
    public const double DefaultTimeGrowth = 2.0;

    /// <summary>The largest growth factor accepted (past it a value is a typo).</summary>
    public const double MostGrowth = 100;

    /// <summary>The keys of a -RetryPolicy hashtable, as the parameters spell them.</summary>
    public static IReadOnlyList<string> Keys { get; } = ["RetryOn", "MaxAttempts", "MemoryGrowth", "TimeGrowth"];

    /// <summary>
    /// The reasons a policy may name: how a job that ran (or tried to) can fail. Cancelled is
    /// never retried (someone stopped it on purpose); pending reasons and
    /// DependencyNeverSatisfied are not failures of a run.
    /// </summary>
    public static IReadOnlyList<HPCJobReason> RetryableReasons { get; } =
    [
        HPCJobReason.NonZeroExit, HPCJobReason.Signaled, HPCJobReason.Timeout, HPCJobReason.OutOfMemory,
        HPCJobReason.NodeFailure, HPCJobReason.Preempted, HPCJobReason.Evicted, HPCJobReason.ImagePullFailure,
        HPCJobReason.Lost, HPCJobReason.BootFailure, HPCJobReason.Deadline, HPCJobReason.LaunchFailure, HPCJobReason.Unknown,
    ];

    /// <summary>The failure reasons that start another attempt.</summary>
    public IReadOnlyList<HPCJobReason> RetryOn { get; init; } = [];

    /// <summary>Attempts in all, the first included.</summary>
    public int MaxAttempts { get; init; } = DefaultMaxAttempts;

    /// <summary>Factor applied to memory_gb after an OutOfMemory failure.</summary>
    public double MemoryGrowth { get; init; } = DefaultMemoryGrowth;

    /// <summary>Factor applied to time_hours after a Timeout failure.</summary>
    public double TimeGrowth { get; init; } = DefaultTimeGrowth;

    /// <summary>The most memory an attempt may ask for, in GiB (RETRY_MAX_MEMORY_GB at submission).</summary>
    public double MaxMemoryGb { get; init; } = ResourceRequirements.MaxMemoryGb;

    /// <summary>The longest time limit an attempt may ask for, in hours (RETRY_MAX_TIME_HOURS at submission).</summary>
    public double MaxTimeHours { get; init; } = ResourceRequirements.MaxTimeHours;

    /// <summary>True when <paramref name="reason"/> starts another attempt under this policy.</summary>
    public bool RetriesOn(HPCJobReason reason) => RetryOn.Contains(reason);

    /// <summary>
    /// The policy from Submit-CcatJob's parameters or its -RetryPolicy hashtable (keys
    /// <see cref="Keys"/>, any case), or null when neither asks for retries. Giving both is
    /// refused. Every error is <see cref="CcatErrorId.InvalidRetryPolicy"/> naming the value.
    /// </summary>
    public static RetryPolicy? From(IReadOnlyList<HPCJobReason>? retryOn, int? maxAttempts, double? memoryGrowth, double? timeGrowth,
        IDictionary? hashtable, double maxMemoryGb, double maxTimeHours)
    {
        var anyParameter = retryOn is not null || maxAttempts is not null || memoryGrowth is not null || timeGrowth is not null;
        if (hashtable is not null)
        {
            if (anyParameter)
            {
                throw Error("-RetryPolicy and -RetryOn/-MaxAttempts/-MemoryGrowth/-TimeGrowth say the same thing: give one or the other.");
            }

            (retryOn, maxAttempts, memoryGrowth, timeGrowth) = Parse(hashtable);
        }
        else if (!anyParameter)
        {
            return null;
        }

        if (retryOn is null || retryOn.Count == 0)
        {
            throw Error("A retry policy needs -RetryOn: the failure reasons to retry on (for example OutOfMemory, Timeout).");
        }

        foreach (var r in retryOn)
        {
            if (!RetryableReasons.Contains(r))
            {
                throw Error($"'{r}' cannot be retried on (a cancelled job was stopped on purpose; pending reasons are not failures). Retryable: {string.Join(", ", RetryableReasons)}.");
            }
        }

        var attempts = maxAttempts ?? DefaultMaxAttempts;
        if (attempts is < 1 or > MostAttempts)
        {
            throw Error($"MaxAttempts is {attempts}; it must be 1 to {MostAttempts} (attempts in all, the first included).");
        }

        return new RetryPolicy
        {
            RetryOn = retryOn.Distinct().ToArray(),
            MaxAttempts = attempts,
            MemoryGrowth = Growth("MemoryGrowth", memoryGrowth ?? DefaultMemoryGrowth),
            TimeGrowth = Growth("TimeGrowth", timeGrowth ?? DefaultTimeGrowth),
            MaxMemoryGb = maxMemoryGb,
            MaxTimeHours = maxTimeHours,
        };
    }

    /// <summary>
    /// Checks the policy against the job's resources: growing memory (or time) needs a
    /// memory_gb (or time_hours) to grow from.
    /// </summary>
    public void Validate(ResourceRequirements resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        if (RetriesOn(HPCJobReason.OutOfMemory) && MemoryGrowth > 1 && resources.MemoryGb is null)
        {
            throw Error("-RetryOn OutOfMemory grows the memory request by -MemoryGrowth, so -Resources needs memory_gb to grow from (or give -MemoryGrowth 1 to retry with the backend's default).");
        }

        if (RetriesOn(HPCJobReason.Timeout) && TimeGrowth > 1 && resources.TimeHours is null)
        {
            throw Error("-RetryOn Timeout grows the time limit by -TimeGrowth, so -Resources needs time_hours to grow from (or give -TimeGrowth 1 to retry with the backend's default).");
        }
    }

    /// <summary>
    /// The resources of the attempt after one that failed for <paramref name="reason"/> with
    /// <paramref name="current"/>: memory grown on OutOfMemory, time on Timeout, each rounded
    /// up to what the scheduler takes (<paramref name="rounding"/>) and capped. Null resources,
    /// with the reason why, when growing is needed but the cap is already reached.
    /// </summary>
    public RetryStep Next(ResourceRequirements current, HPCJobReason reason, RetryRounding rounding)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(rounding);
        if (reason == HPCJobReason.OutOfMemory && MemoryGrowth > 1 && current.MemoryGb is { } mem)
        {
            var grown = Grow(mem, MemoryGrowth, rounding.MemoryStepGb, MaxMemoryGb);
            return grown is { } m
                ? new RetryStep(current with { MemoryGb = m }, $"memory {Show(mem)} → {Show(m)} GiB")
                : new RetryStep(null, $"memory is {Show(mem)} GiB already, at the cap RETRY_MAX_MEMORY_GB = {Show(MaxMemoryGb)}");
        }

        if (reason == HPCJobReason.Timeout && TimeGrowth > 1 && current.TimeHours is { } time)
        {
            var grown = Grow(time, TimeGrowth, rounding.TimeStepHours, MaxTimeHours);
            return grown is { } t
                ? new RetryStep(current with { TimeHours = t }, $"time limit {Show(time)} → {Show(t)} h")
                : new RetryStep(null, $"the time limit is {Show(time)} h already, at the cap RETRY_MAX_TIME_HOURS = {Show(MaxTimeHours)}");
        }

        return new RetryStep(current, "same resources");
    }

    /// <summary>
    /// <paramref name="value"/> × <paramref name="factor"/>, rounded up to a whole number of
    /// <paramref name="step"/>s and capped at <paramref name="cap"/> (rounded down to a step);
    /// null when that is no more than <paramref name="value"/> (nothing left to grow).
    /// </summary>
    internal static double? Grow(double value, double factor, double step, double cap)
    {
        var grown = RoundUp(value * factor, step);
        var ceiling = cap >= step ? Math.Floor(cap / step + 1e-9) * step : cap;
        var next = Math.Round(Math.Min(grown, ceiling), 9);
        return next > value + 1e-12 ? next : null;
    }

    /// <summary><paramref name="value"/> rounded up to a whole number of <paramref name="step"/>s (a value already on a step stays).</summary>
    internal static double RoundUp(double value, double step) =>
        step <= 0 ? value : Math.Round(Math.Ceiling(value / step - 1e-9) * step, 9);

    private static (IReadOnlyList<HPCJobReason>?, int?, double?, double?) Parse(IDictionary table)
    {
        IReadOnlyList<HPCJobReason>? on = null;
        int? attempts = null;
        double? mem = null, time = null;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry e in table)
        {
            var key = Convert.ToString(e.Key, CultureInfo.InvariantCulture)?.Trim() ?? "";
            if (!seen.Add(key)) throw Error($"-RetryPolicy key '{key}' is given twice.");
            switch (key.ToLowerInvariant())
            {
                case "retryon":
                    on = Reasons(e.Value);
                    break;
                case "maxattempts":
                    var n = Number("MaxAttempts", e.Value);
                    if (n != Math.Floor(n)) throw Error($"MaxAttempts must be a whole number, not {Show(n)}.");
                    attempts = n is >= int.MinValue and <= int.MaxValue ? (int)n : int.MaxValue;
                    break;
                case "memorygrowth":
                    mem = Number("MemoryGrowth", e.Value);
                    break;
                case "timegrowth":
                    time = Number("TimeGrowth", e.Value);
                    break;
                default:
                    throw Error($"Unknown -RetryPolicy key '{key}'. Valid keys: {string.Join(", ", Keys)}.");
            }
        }

        return (on, attempts, mem, time);
    }

    private static List<HPCJobReason> Reasons(object? value)
    {
        var items = value switch
        {
            null => [],
            string s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Cast<object?>().ToList(),
            IEnumerable many => many.Cast<object?>().ToList(),
            _ => [value],
        };
        var list = new List<HPCJobReason>();
        foreach (var item in items)
        {
            list.Add(item switch
            {
                HPCJobReason r => r,
                string s when !s.Trim().All(char.IsAsciiDigit) && Enum.TryParse<HPCJobReason>(s.Trim(), ignoreCase: true, out var r) => r,
                _ => throw Error($"RetryOn value '{item}' is not a failure reason. Retryable: {string.Join(", ", RetryableReasons)}."),
            });
        }

        return list;
    }

    private static double Number(string key, object? value)
    {
        double d;
        switch (value)
        {
            case string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed):
                d = parsed;
                break;
            case IConvertible c when value is byte or sbyte or short or ushort or int or uint or long or ulong or float or double or decimal:
                d = c.ToDouble(CultureInfo.InvariantCulture);
                break;
            default:
                throw Error($"{key} must be a number, not '{value}'.");
        }

        if (double.IsNaN(d) || double.IsInfinity(d)) throw Error($"{key} must be a finite number, not {Show(d)}.");
        return d;
    }

    private static double Growth(string key, double value) =>
        double.IsNaN(value) || double.IsInfinity(value) || value < 1 || value > MostGrowth
            ? throw Error($"{key} is {Show(value)}; it must be a number from 1 (no growth) to {Show(MostGrowth)}.")
            : value;

    private static string Show(double d) => d.ToString("0.#########", CultureInfo.InvariantCulture);

    private static CcatException Error(string message) => new(CcatErrorId.InvalidRetryPolicy, message);
}

/// <summary>The steps in which a scheduler takes memory and time, for rounding grown requests up.</summary>
/// <param name="MemoryStepGb">The memory step in GiB (1 MiB on every built-in backend).</param>
/// <param name="TimeStepHours">The time-limit step in hours (a minute on Slurm, a second elsewhere).</param>
public sealed record RetryRounding(double MemoryStepGb, double TimeStepHours)
{
    /// <summary>Whole MiB and whole seconds.</summary>
    public static RetryRounding Default { get; } = new(1.0 / 1024, 1.0 / 3600);
}

/// <summary>The resources of the next attempt, or null (with why) when the policy cannot grow them further.</summary>
/// <param name="Resources">The next attempt's resources; null when it should not be made.</param>
/// <param name="What">What changed (for the verbose log) or why no attempt is made.</param>
public sealed record RetryStep(ResourceRequirements? Resources, string What);
