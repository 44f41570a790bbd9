using System.Globalization;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// Slurm's time texts: durations (<c>Elapsed</c>, <c>TotalCPU</c>, squeue's <c>%M</c>), the
/// <c>--time</c> limit the module writes, and timestamps (which the module asks for as epoch
/// seconds by setting <c>SLURM_TIME_FORMAT=%s</c> for the commands it runs).
/// </summary>
public static class SlurmTime
{
    /// <summary>
    /// Parses a Slurm duration in any of its forms: <c>D-HH:MM:SS</c>, <c>HH:MM:SS</c>,
    /// <c>MM:SS</c>, <c>MM:SS.mmm</c> (TotalCPU below an hour), <c>D-HH</c>, <c>D-HH:MM</c>, plain seconds,
    /// each with optional fractional seconds. Returns null for empty text and for the words
    /// Slurm prints instead of a time (<c>INVALID</c>, <c>UNLIMITED</c>, <c>Partition_Limit</c>, <c>N/A</c>…).
    /// </summary>
    public static TimeSpan? ParseDuration(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var s = text.Trim();
        var days = 0L;
        var dash = s.IndexOf('-');
        string clock;
        var dayForm = false;
        if (dash > 0)
        {
            if (!long.TryParse(s.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out days)) return null;
            clock = s[(dash + 1)..];
            dayForm = true;
        }
        else if (dash == 0)
        {
            return null; // negative: not a duration
        }
        else
        {
            clock = s;
        }

        var parts = clock.Split(':');
        if (parts.Length is 0 or > 3) return null;
        var numbers = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            // only the last part may carry a fraction
            var style = i == parts.Length - 1 ? NumberStyles.AllowDecimalPoint : NumberStyles.None;
            if (parts[i].Length == 0 || !double.TryParse(parts[i], style, CultureInfo.InvariantCulture, out numbers[i])) return null;
        }

        double hours = 0, minutes = 0, seconds;
        if (dayForm)
        {
            // after "D-" the fields are hours[:minutes[:seconds]]
            hours = numbers[0];
            minutes = numbers.Length > 1 ? numbers[1] : 0;
            seconds = numbers.Length > 2 ? numbers[2] : 0;
        }
        else
        {
            switch (numbers.Length)
            {
                case 3:
                    hours = numbers[0];
                    minutes = numbers[1];
                    seconds = numbers[2];
                    break;
                case 2:
                    minutes = numbers[0];
                    seconds = numbers[1];
                    break;
                default:
                    seconds = numbers[0];
                    break;
            }
        }

        var total = (((days * 24) + hours) * 60 + minutes) * 60 + seconds;
        return TimeSpan.FromSeconds(total);
    }

    /// <summary>
    /// The <c>--time</c> value for a limit in hours: whole minutes, rounded up (a limit is never
    /// shortened), at least one minute; <c>HH:MM:SS</c> up to 24 hours and <c>D-HH:MM:SS</c> past them.
    /// </summary>
    public static string FormatTimeLimit(double hours)
    {
        if (double.IsNaN(hours) || double.IsInfinity(hours) || hours <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(hours), hours, "A time limit must be a positive number of hours.");
        }

        // 1e-9 absorbs binary noise (0.1 h * 60 = 6.000000000000001 must stay 6 minutes).
        var minutes = (long)Math.Ceiling(hours * 60 - 1e-9);
        if (minutes < 1) minutes = 1;
        var d = minutes / (24 * 60);
        var h = minutes / 60 % 24;
        var m = minutes % 60;
        return d > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{d}-{h:00}:{m:00}:00")
            : string.Create(CultureInfo.InvariantCulture, $"{minutes / 60:00}:{m:00}:00");
    }

    /// <summary>
    /// Parses a timestamp as the module's commands print it: epoch seconds (<c>SLURM_TIME_FORMAT=%s</c>);
    /// ISO <c>YYYY-MM-DDTHH:MM:SS</c> in local time is accepted too. <c>Unknown</c>, <c>None</c>,
    /// <c>N/A</c> and empty give null.
    /// </summary>
    public static DateTimeOffset? ParseTimestamp(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var s = text.Trim();
        if (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch))
        {
            return epoch <= 0 ? null : DateTimeOffset.FromUnixTimeSeconds(epoch);
        }

        if (DateTime.TryParseExact(s, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var local))
        {
            return new DateTimeOffset(local);
        }

        return null;
    }

    /// <summary>
    /// A point in time as sacct's <c>--starttime</c> reads it: local time, <c>YYYY-MM-DDTHH:MM:SS</c>
    /// (sacct runs with this process's time zone).
    /// </summary>
    public static string FormatQueryTime(DateTimeOffset time) =>
        time.ToLocalTime().ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
}
