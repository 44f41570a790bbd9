using System.Globalization;
using CcatWorkflow.Core.Arrays;

namespace CcatWorkflow.Core.Backends.Local;

/// <summary>
/// The files of Local job arrays and dependent jobs, beside the ones every job folder has
/// (<see cref="LocalJobDirectory"/>). An array is one folder, <c>&lt;LOCAL_JOB_DIR&gt;/&lt;array id&gt;/</c>,
/// with the array's job.json and its runner (the array runner, which starts the elements); each
/// element that has started (or ended without starting) is an ordinary job folder,
/// <c>&lt;LOCAL_JOB_DIR&gt;/&lt;array id&gt;_&lt;index&gt;/</c>, watched by a runner of its own.
/// </summary>
internal static class LocalArrayFiles
{
    /// <summary>
    /// Created (0600, create-only) by a runner that holds its lock and waits for the jobs its
    /// job depends on: the submission stands (the runner lives and will start or end the job),
    /// and readers say pending, WaitingForDependency.
    /// </summary>
    public const string WaitingFile = "waiting-for-parents";

    /// <summary>Created in an array's folder once its parents met the condition: its unstarted elements wait only for a slot.</summary>
    public const string ParentsMetFile = "parents-met";

    /// <summary>In an array's folder, <c>cancel-element-&lt;index&gt;</c>: that element is not to start (or, started, is cancelled).</summary>
    public const string ElementCancelPrefix = "cancel-element-";

    /// <summary>The name of the folder of element <paramref name="index"/> of array <paramref name="arrayId"/>.</summary>
    public static string ElementId(string arrayId, int index) => ArrayElementId.Format(arrayId, index);

    /// <summary>The file that asks for element <paramref name="index"/> to be cancelled.</summary>
    public static string ElementCancelPath(LocalJobDirectory arrayDir, int index) =>
        arrayDir.FilePath(ElementCancelPrefix + index.ToString(CultureInfo.InvariantCulture));

    /// <summary>True when the whole array, or element <paramref name="index"/>, is to be cancelled.</summary>
    public static bool ElementCancelRequested(LocalJobDirectory arrayDir, int index) =>
        arrayDir.CancelRequested || File.Exists(ElementCancelPath(arrayDir, index));

    /// <summary>Leaves the request (create-only; one already there stands).</summary>
    public static void RequestElementCancel(LocalJobDirectory arrayDir, int index, LocalCancelRequest request) =>
        AtomicFile.CreateNew(ElementCancelPath(arrayDir, index), System.Text.Json.JsonSerializer.Serialize(request, LocalJson.Context.LocalCancelRequest));

    /// <summary>True when the runner of this folder waits for its parents (and has not started the job).</summary>
    public static bool IsWaitingForParents(LocalJobDirectory dir) => File.Exists(dir.FilePath(WaitingFile));

    /// <summary>Marks the folder as waiting for its parents (create-only, 0600).</summary>
    public static void MarkWaiting(LocalJobDirectory dir)
    {
        AtomicFile.CreateNew(dir.FilePath(WaitingFile), "");
        RunnerStartReport.Send(); // what the submitter waits for, in place of runner.json
    }

    /// <summary>
    /// The job.json of one element: the array's submission with the element's own id, its index
    /// in <see cref="ArrayElementId.IndexVariable"/>, and — where the array ran in its own folder
    /// by default — the element's own folder as working directory.
    /// </summary>
    public static LocalJobSpec ElementSpec(LocalJobSpec array, string arrayDirPath, string elementDirPath, int index)
    {
        ArgumentNullException.ThrowIfNull(array);
        var env = array.Environment.Where(v => v.Name != ArrayElementId.IndexVariable).ToList();
        env.Add(new LocalEnvironmentVariable(ArrayElementId.IndexVariable, index.ToString(CultureInfo.InvariantCulture)));
        return array with
        {
            Id = ElementId(array.Id, index),
            Environment = env,
            WorkingDirectory = array.WorkingDirectory == arrayDirPath ? elementDirPath : array.WorkingDirectory,
            ArrayIndex = null,
            ThrottleLimit = null,
            ArrayJobId = array.Id,
            ArrayTaskIndex = index,
            DependsOn = null,
            DependencyCondition = null,
        };
    }

    /// <summary>The dependency a job.json records, or null.</summary>
    public static JobDependency? Dependency(LocalJobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.DependsOn is not { Count: > 0 } parents) return null;
        var condition = Enum.TryParse<DependencyCondition>(spec.DependencyCondition, ignoreCase: true, out var c) ? c : DependencyCondition.AfterOk;
        return new JobDependency(parents, condition);
    }
}
