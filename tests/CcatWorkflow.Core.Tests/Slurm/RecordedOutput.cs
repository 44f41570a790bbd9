using System.Runtime.CompilerServices;

namespace CcatWorkflow.Core.Tests.Slurm;

/// <summary>The recorded command outputs under Slurm/Recorded (read from the source tree, next to this file).</summary>
internal static class RecordedOutput
{
    public static string Read(string name, [CallerFilePath] string here = "") =>
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(here)!, "Recorded", name));
}
