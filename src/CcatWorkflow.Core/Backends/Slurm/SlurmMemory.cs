using System.Globalization;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>Memory sizes as Slurm writes and reads them (binary units: 1K = 1024 bytes).</summary>
public static class SlurmMemory
{
    /// <summary>Bytes in one GiB, the unit of <see cref="HPCJobInfo.PeakMemoryGb"/>.</summary>
    public const double BytesPerGb = 1024.0 * 1024 * 1024;

    /// <summary>
    /// The <c>--mem</c> value for <paramref name="gb"/> GiB: <c>16G</c> for whole numbers, else
    /// whole megabytes rounded up (<c>0.5</c> → <c>512M</c>, <c>1.3</c> → <c>1332M</c>), so a job
    /// never gets less than it asked for.
    /// </summary>
    public static string FormatMem(double gb)
    {
        if (double.IsNaN(gb) || double.IsInfinity(gb) || gb <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(gb), gb, "A memory request must be a positive number of GB.");
        }

        if (Math.Abs(gb - Math.Round(gb)) < 1e-9)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{(long)Math.Round(gb)}G");
        }

        var mb = (long)Math.Ceiling(gb * 1024 - 1e-6);
        return string.Create(CultureInfo.InvariantCulture, $"{Math.Max(1, mb)}M");
    }

    /// <summary>
    /// Parses a size such as sacct's MaxRSS (<c>221232K</c>, <c>1.50M</c>, <c>2G</c>, <c>0</c>) into
    /// bytes. Suffixes K, M, G, T, P (powers of 1024); no suffix means bytes. Empty or
    /// unparsable text gives null (nothing recorded).
    /// </summary>
    public static long? ParseBytes(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var s = text.Trim();
        double factor = 1;
        var unit = char.ToUpperInvariant(s[^1]);
        var exponent = unit switch { 'K' => 1, 'M' => 2, 'G' => 3, 'T' => 4, 'P' => 5, _ => 0 };
        if (exponent > 0)
        {
            factor = Math.Pow(1024, exponent);
            s = s[..^1];
        }
        else if (!char.IsAsciiDigit(unit))
        {
            return null;
        }

        if (!double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)) return null;
        return (long)Math.Round(value * factor);
    }
}
