#!/usr/bin/env bash
# Stops the redis-server started by start.sh for the same CCAT_INFRA_DIR: SIGTERM to the pid in
# its pid file (never by name), then waits for it to go. Idempotent.
set -euo pipefail

dir="${CCAT_INFRA_DIR:-/tmp/ccat-infra}/redis"
pidfile="$dir/redis.pid"

if [[ ! -f "$pidfile" ]]; then
  exit 0
fi

pid="$(cat "$pidfile")"
if kill -0 "$pid" 2>/dev/null && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "redis-server $pid did not stop within 10 s" >&2
    exit 1
  fi
fi

rm -f "$pidfile" "$dir/redis.sock"
