using System.Globalization;

namespace CcatWorkflow.Core.Backends.Slurm;

/// <summary>
/// sacct's <c>ExitCode</c>, <c>code:signal</c>: the exit code of the batch script, and the
/// signal that ended it (0 = none). Parsed from the text output: the JSON of 22.05 reports
/// exit codes wrongly.
/// </summary>
/// <param name="Code">The exit status the script returned.</param>
/// <param name="Signal">The signal that killed it, 0 when none.</param>
public readonly record struct SlurmExitCode(int Code, int Signal)
{
    /// <summary>Parses <c>3:0</c>, <c>0:9</c>; null for empty or malformed text.</summary>
    public static SlurmExitCode? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.Trim().Split(':');
        if (parts.Length is < 1 or > 2) return null;
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var code)) return null;
        var signal = 0;
        if (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out signal)) return null;
        return new SlurmExitCode(code, signal);
    }

    /// <summary>True for a real POSIX signal number (Slurm uses values above 64 as markers, e.g. 0:125 for OUT_OF_MEMORY).</summary>
    public bool HasRealSignal => Signal is > 0 and <= 64;

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Code}:{Signal}");
}
