using System.Globalization;

namespace CcatWorkflow.Core.Backends.Slurm.Rest;

/// <summary>
/// The batch script the REST transport hands slurmrestd: it runs the job's own script from its
/// folder (the one -WhatIf shows and the folder keeps) and writes its exit status next to the
/// logs. slurmdb (dbv0.0.36–38) reports every normal exit as SUCCESS/0 — a job that exited 3
/// reads "FAILED, exit code 0" — and the controller forgets the true code once the job is purged
/// (MinJobAge): this file is the record that stays.
/// </summary>
public static class SlurmRestLauncher
{
    /// <summary>The exit status file of a job (null index) or of one array element.</summary>
    public static string ExitFileOf(long? arrayIndex) =>
        arrayIndex is { } i ? string.Create(CultureInfo.InvariantCulture, $"exit_code_{i}") : "exit_code";

    /// <summary>The launcher for the job folder <paramref name="folder"/> (absolute, validated).</summary>
    public static string Build(string folder)
    {
        var script = SbatchScriptBuilder.Word(SlurmJobFolder.Join(folder, SlurmJobDirectory.ScriptFile));
        var exitFile = SbatchScriptBuilder.Word(SlurmJobFolder.Join(folder, ExitFileOf(null)));
        return "#!/bin/sh\n"
            + "# Written by CcatWorkflow (Slurm REST transport): runs the job's script, then keeps its exit\n"
            + "# status in the job folder (slurmrestd 22.05 reports a normal exit as 0 whatever its code).\n"
            + "/bin/sh " + script + "\n"
            + "rc=$?\n"
            + "(umask 077 && printf '%s\\n' \"$rc\" > " + exitFile + "\"${SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}\") 2>/dev/null\n"
            + "exit \"$rc\"\n";
    }

    /// <summary>The exit status the file holds; null when it is missing or malformed.</summary>
    public static int? ParseExitFile(string? text) =>
        int.TryParse((text ?? "").Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 0 and <= 255 ? code : null;
}
