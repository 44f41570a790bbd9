#!/usr/bin/env bash
# Stops the Kubernetes API-server double started by start.sh (SIGTERM: it kills the pod
# processes it runs, then exits; SIGKILL after 10 s). Idempotent. Keeps the state directory.
set -euo pipefail

dir="${CCAT_INFRA_DIR:-/tmp/ccat-infra}/kubernetes"
[[ -f "$dir/pid" ]] || exit 0
pid="$(cat "$dir/pid")"
# Only ever signal the double itself: a stale pid file may name a reused pid.
if kill -0 "$pid" 2>/dev/null && grep -qa 'CcatWorkflow.KubeApiDouble' "/proc/$pid/cmdline" 2>/dev/null; then
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
fi
rm -f "$dir/pid"
