using System.Globalization;
using CcatWorkflow.Core.Arrays;
using k8s.Models;

namespace CcatWorkflow.Core.Backends.Kubernetes;

/// <summary>
/// Dependencies on Kubernetes, which has none of its own: the dependent's pod gets an init
/// container that waits for the parents through the API server with the pod's own
/// service-account token, so no process of the module has to stay alive. Init containers run
/// to completion before the job's container starts; this one exits 0 when the condition is met
/// (the job then starts), <see cref="NeverSatisfiedExitCode"/> when it can never be met, and
/// <see cref="AccessDeniedExitCode"/> when the API server refuses to show a parent (RBAC). Its
/// last log line says why (<c>terminationMessagePolicy: FallbackToLogsOnError</c> makes it the
/// container's termination message, which the status mapper shows).
/// <para>The waiter is a POSIX shell loop around curl (K8S_DEPENDENCY_IMAGE, by default the
/// official curl image): every K8S_DEPENDENCY_POLL_SECONDS it GETs each undecided parent's Job
/// (one GET per distinct Job, however many of its elements are parents) and, when the Job is
/// gone, its record ConfigMap. It needs get on jobs (batch) and configmaps in the namespace:
/// docs/kubernetes.md has the Role.</para>
/// <para>Parents are given as <c>name</c> (a job, or a whole array) or <c>name:position</c> (one
/// element, by completion position), in <c>CCAT_DEPENDS_ON</c>. A whole array is "ok" when its
/// Job is Complete and "failed" when it is Failed (at least one element failed), as Slurm
/// treats a dependency on a whole array.</para>
/// </summary>
public static class KubernetesDependencyWaiter
{
    /// <summary>The init container's name.</summary>
    public const string ContainerName = "wait-for-dependencies";

    /// <summary>Exit code: the condition can never be met.</summary>
    public const int NeverSatisfiedExitCode = 3;

    /// <summary>Exit code: the API server refused to show a parent to the pod's service account.</summary>
    public const int AccessDeniedExitCode = 4;

    /// <summary>Annotation on a dependent Job: the parents the waiter was given.</summary>
    public const string DependsOnAnnotation = "ccat-workflow/depends-on";

    /// <summary>Annotation on a dependent Job: the condition.</summary>
    public const string ConditionAnnotation = "ccat-workflow/dependency-condition";

    /// <summary>The waiter init container for <paramref name="dependency"/> (parent ids already in waiter form).</summary>
    public static V1Container BuildContainer(JobDependency dependency, KubernetesOptions options)
    {
        ArgumentNullException.ThrowIfNull(dependency);
        ArgumentNullException.ThrowIfNull(options);
        return new V1Container
        {
            Name = ContainerName,
            Image = options.DependencyImage,
            Command = ["/bin/sh", "-c", Script],
            Env =
            [
                new V1EnvVar { Name = "CCAT_DEPENDS_ON", Value = string.Join(' ', dependency.ParentIds) },
                new V1EnvVar { Name = "CCAT_DEPENDENCY_CONDITION", Value = dependency.Condition.ToString() },
                new V1EnvVar { Name = "CCAT_POLL_SECONDS", Value = options.DependencyPollSeconds.ToString(CultureInfo.InvariantCulture) },
            ],
            TerminationMessagePolicy = "FallbackToLogsOnError",
        };
    }

    /// <summary>The waiter's program (values reach it through its environment, never pasted in).</summary>
    public const string Script = """
        # ccat-workflow dependency waiter: exit 0 = start the job, 3 = never satisfied, 4 = access denied.
        set -u
        sa=/var/run/secrets/kubernetes.io/serviceaccount
        ns=$(cat "$sa/namespace")
        api="https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"
        get() {
          out=$(curl -sS --max-time 30 --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" -w '\n%{http_code}' "$api$1" 2>&1) || out="$out
        000"
          code=$(printf '%s' "$out" | tail -n 1)
          body=$(printf '%s' "$out" | sed '$d')
        }
        has() {
          for item in $(printf '%s' "$1" | tr ',' ' '); do
            case $item in
              *-*) [ "$2" -ge "${item%-*}" ] && [ "$2" -le "${item#*-}" ] && return 0 ;;
              *) [ "$item" = "$2" ] && return 0 ;;
            esac
          done
          return 1
        }
        field() { printf '%s' "$1" | tr -d '\n' | sed -nE "s/.*\"$2\": *\"(([^\"\\\\]|\\\\.)*)\".*/\1/p"; }
        cond() { printf '%s' "$1" | tr -d '\n' | tr '{' '\n' | grep -E "\"type\": *\"$2\"" | grep -qE '"status": *"True"'; }
        last=""
        state() {
          if [ "$1" != "$last" ]; then
            get "/apis/batch/v1/namespaces/$ns/jobs/$1"
            jcode=$code; jbody=$body; last=$1
            if [ "$jcode" = 404 ]; then get "/api/v1/namespaces/$ns/configmaps/$1"; rcode=$code; rbody=$body; fi
          fi
          case $jcode in
            200)
              if [ -n "$2" ] && has "$(field "$jbody" completedIndexes)" "$2"; then st=ok
              elif [ -n "$2" ] && has "$(field "$jbody" failedIndexes)" "$2"; then st=failed
              elif cond "$jbody" Complete; then st=ok
              elif cond "$jbody" Failed; then st=failed
              else st=wait; fi ;;
            401|403) st=denied; why=$(field "$jbody" message) ;;
            404)
              case $rcode in
                200)
                  if [ -n "$(field "$rbody" cancelRequestedAt)" ]; then st=failed
                  elif [ -n "$2" ] && has "$(field "$rbody" completedIndexes)" "$2"; then st=ok
                  elif [ -n "$2" ] && has "$(field "$rbody" failedIndexes)" "$2"; then st=failed
                  elif [ "$(field "$rbody" status)" = Completed ]; then st=ok
                  else st=failed; fi ;;
                404) st=failed ;;
                401|403) st=denied; why=$(field "$rbody" message) ;;
                *) st=wait ;;
              esac ;;
            *) st=wait; echo "ccat-workflow: could not ask about $1 (HTTP $jcode), asking again" ;;
          esac
        }
        parents=$(printf '%s\n' $CCAT_DEPENDS_ON | sort)
        echo "ccat-workflow: waiting for $(printf '%s ' $parents)($CCAT_DEPENDENCY_CONDITION)"
        while :; do
          waiting=""
          last=""
          for p in $parents; do
            name=${p%%:*}; pos=""
            [ "$name" != "$p" ] && pos=${p#*:}
            state "$name" "$pos"
            case $st in
              denied) echo "ccat-workflow: access denied: this pod's service account may not read job $name ($why); grant it get on jobs and configmaps (docs/kubernetes.md, dependencies)"; exit 4 ;;
              wait) waiting="$waiting $p" ;;
              ok) if [ "$CCAT_DEPENDENCY_CONDITION" = AfterNotOk ]; then echo "ccat-workflow: dependency never satisfied: $p completed, so AfterNotOk can never be met"; exit 3; fi ;;
              failed) if [ "$CCAT_DEPENDENCY_CONDITION" = AfterOk ]; then echo "ccat-workflow: dependency never satisfied: $p ended failed, so AfterOk can never be met"; exit 3; fi ;;
            esac
          done
          if [ -z "$waiting" ]; then echo "ccat-workflow: dependencies met ($CCAT_DEPENDENCY_CONDITION)"; exit 0; fi
          parents=$waiting
          sleep "$CCAT_POLL_SECONDS"
        done
        """;
}
