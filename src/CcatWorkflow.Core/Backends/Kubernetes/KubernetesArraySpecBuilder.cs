using System.Globalization;
using System.Text;
using CcatWorkflow.Core.Arrays;
using CcatWorkflow.Core.Submission;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Turns the Job of a submission with <see cref="JobSubmission.ArrayIndex"/> into one Indexed
/// Job (<c>completionMode: Indexed</c>, <c>completions</c> = number of indices,
/// <c>parallelism</c> = -ThrottleLimit or every element, <c>backoffLimitPerIndex: 0</c> so a
/// failed element fails alone and is not retried). Kubernetes numbers the pods 0..n-1
/// (<c>JOB_COMPLETION_INDEX</c>); a small lookup in front of the command turns that position
/// into the real index (<c>1,3,5-9</c> or <c>0-99:2</c>) in <c>CCAT_ARRAY_INDEX</c>, then runs the
/// command unchanged with <c>/bin/sh -c</c>. The lookup has one arithmetic branch per run of
/// evenly spaced indices, so <c>0-9999</c> is one line.
/// </summary>
public static class KubernetesArraySpecBuilder
{
    /// <summary>The label and annotation the Job controller puts on each pod of an Indexed Job.</summary>
    public const string CompletionIndexLabel = "batch.kubernetes.io/job-completion-index";

    /// <summary>Annotation on an array's Job holding its index spec.</summary>
    public const string ArrayIndexAnnotation = "ccat-workflow/array-index";

    /// <summary>The exit code of an element that was cancelled before it started.</summary>
    public const int CancelledBeforeStartExitCode = 143;

    /// <summary>The environment variable an element's pod reads its array's cancelled indices from.</summary>
    public const string CancelledIndexesVariable = "CCAT_CANCELLED_INDEXES";

    /// <summary>
    /// Adds to <paramref name="job"/> (built by <see cref="KubernetesJobSpecBuilder.BuildJob"/>)
    /// what an array and a dependency need; a plain submission is returned unchanged.
    /// </summary>
    public static V1Job Apply(V1Job job, JobSubmission submission, KubernetesOptions options)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(submission);
        if (submission.Dependency is { } dependency)
        {
            job.Spec.Template.Spec.InitContainers = [KubernetesDependencyWaiter.BuildContainer(dependency, options)];
            job.Metadata.Annotations[KubernetesDependencyWaiter.DependsOnAnnotation] = string.Join(',', dependency.ParentIds);
            job.Metadata.Annotations[KubernetesDependencyWaiter.ConditionAnnotation] = dependency.Condition.ToString();
        }

        if (submission.ArrayIndex is not { } array) return job;
        var spec = job.Spec;
        spec.CompletionMode = "Indexed";
        spec.Completions = array.Indices.Count;
        spec.Parallelism = Math.Min(submission.ThrottleLimit ?? array.Indices.Count, array.Indices.Count);
        spec.BackoffLimitPerIndex = 0;
        spec.BackoffLimit = null; // with backoffLimitPerIndex the Job-wide limit would fail every element at the first failure
        job.Metadata.Annotations[ArrayIndexAnnotation] = array.Text;

        var container = spec.Template.Spec.Containers[0];
        container.Command = ["/bin/sh", "-c", ElementScript(array), "ccat-array-element", submission.ExecutionCommand];
        container.Env ??= [];
        container.Env.Add(new V1EnvVar
        {
            Name = CancelledIndexesVariable,
            ValueFrom = new V1EnvVarSource
            {
                ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = job.Metadata.Name, Key = KubernetesArrayRecord.CancelledIndexesKey, Optional = true },
            },
        });
        return job;
    }

    /// <summary>The record keys an array adds (<see cref="KubernetesArrayRecord"/>).</summary>
    public static void AddRecordData(IDictionary<string, string> data, JobSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(submission);
        if (submission.ArrayIndex is not { } array) return;
        data[KubernetesArrayRecord.ArrayIndexKey] = array.Text;
        if (submission.ThrottleLimit is { } throttle) data[KubernetesArrayRecord.ThrottleKey] = throttle.ToString(CultureInfo.InvariantCulture);
        // A re-run of another array's failed elements (-RetryFailed) keeps the link, as on Slurm and Local.
        if (submission.RetryOf is { } original) data[KubernetesArrayRecord.RetryOfKey] = original;
    }

    /// <summary>
    /// The script in front of an element's command: the real index from the completion index,
    /// the cancelled-before-start check, then <c>exec /bin/sh -c "$1"</c> (the command, passed as
    /// an argument, so it is never pasted into a script).
    /// </summary>
    public static string ElementScript(ArrayIndexSpec array)
    {
        ArgumentNullException.ThrowIfNull(array);
        var sb = new StringBuilder("i=\"$JOB_COMPLETION_INDEX\"\n");
        var runs = Runs(array.Indices);
        if (runs.Count == 1)
        {
            sb.Append(CultureInfo.InvariantCulture, $"CCAT_ARRAY_INDEX=$(({runs[0].First} + i * {runs[0].Step}))\n");
        }
        else
        {
            var position = 0;
            for (var r = 0; r < runs.Count; r++)
            {
                var (first, step, count) = runs[r];
                sb.Append(r == 0 ? "if" : "elif")
                  .Append(CultureInfo.InvariantCulture, $" [ \"$i\" -lt {position + count} ]; then CCAT_ARRAY_INDEX=$(({first} + (i - {position}) * {step}))\n");
                position += count;
            }

            sb.Append("fi\n");
        }

        sb.Append("export CCAT_ARRAY_INDEX\n")
          .Append(CultureInfo.InvariantCulture, $"case \",${{{CancelledIndexesVariable}:-}},\" in *\",$CCAT_ARRAY_INDEX,\"*) echo \"ccat-workflow: element $CCAT_ARRAY_INDEX was cancelled before it started\" >&2; exit {CancelledBeforeStartExitCode};; esac\n")
          .Append("exec /bin/sh -c \"$1\"\n");
        return sb.ToString();
    }

    /// <summary>The indices as runs of evenly spaced values (first, step, count), in order.</summary>
    public static IReadOnlyList<(int First, int Step, int Count)> Runs(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var runs = new List<(int, int, int)>();
        for (var i = 0; i < indices.Count;)
        {
            if (i + 1 == indices.Count)
            {
                runs.Add((indices[i], 1, 1));
                break;
            }

            var step = indices[i + 1] - indices[i];
            var j = i + 1;
            while (j + 1 < indices.Count && indices[j + 1] - indices[j] == step) j++;
            runs.Add((indices[i], step, j - i + 1));
            i = j + 1;
        }

        return runs;
    }

    /// <summary>The completion position (0..n-1) of real index <paramref name="index"/>, or -1.</summary>
    public static int PositionOf(ArrayIndexSpec array, int index)
    {
        ArgumentNullException.ThrowIfNull(array);
        var (lo, hi) = (0, array.Indices.Count - 1);
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            var v = array.Indices[mid];
            if (v == index) return mid;
            if (v < index) lo = mid + 1;
            else hi = mid - 1;
        }

        return -1;
    }
}
