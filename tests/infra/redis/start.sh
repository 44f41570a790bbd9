#!/usr/bin/env bash
# Starts a private redis-server for the tests: a unix socket (and, unless CCAT_REDIS_PORT=0,
# a TCP port on 127.0.0.1), no persistence, state under ${CCAT_INFRA_DIR:-/tmp/ccat-infra}/redis.
# Idempotent: when the server of this state directory already answers, it is reused.
# Installs redis-server with apt-get when it is missing.
#
# Environment:
#   CCAT_INFRA_DIR       state root (default /tmp/ccat-infra)
#   CCAT_REDIS_PORT      TCP port on 127.0.0.1 (default 16379; 0 = unix socket only)
#   CCAT_REDIS_PASSWORD  requirepass (default: none)
#   CCAT_REDIS_KEEP_DATA 1 = load dump.rdb from an earlier SAVE at start (default: start empty)
#
# Prints, on success, lines to eval or to parse:
#   REDIS_SOCKET=<path>  REDIS_PORT=<port>  REDIS_PID=<pid>
set -euo pipefail

dir="${CCAT_INFRA_DIR:-/tmp/ccat-infra}/redis"
port="${CCAT_REDIS_PORT:-16379}"
password="${CCAT_REDIS_PASSWORD:-}"
sock="$dir/redis.sock"
pidfile="$dir/redis.pid"

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "redis-server not found: installing it with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q redis-server >&2 || { apt-get update -q >&2 && apt-get install -y -q redis-server >&2; }
fi

mkdir -p "$dir"
chmod 700 "$dir"

cli() { redis-cli -s "$sock" ${password:+--no-auth-warning -a "$password"} "$@"; }

report() {
  echo "REDIS_SOCKET=$sock"
  echo "REDIS_PORT=$port"
  echo "REDIS_PID=$(cat "$pidfile")"
}

# Already running for this state directory?
if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null && [[ "$(cli ping 2>/dev/null)" == "PONG" ]]; then
  report
  exit 0
fi

# A stale pid file or socket from a server that is gone.
rm -f "$pidfile" "$sock"
[[ "${CCAT_REDIS_KEEP_DATA:-0}" == "1" ]] || rm -f "$dir/dump.rdb"

args=(
  --daemonize yes
  --pidfile "$pidfile"
  --logfile "$dir/redis.log"
  --dir "$dir"
  --dbfilename dump.rdb
  --save ''
  --appendonly no
  --unixsocket "$sock"
  --unixsocketperm 700
  --port "$port"
)
if [[ "$port" != "0" ]]; then
  args+=(--bind 127.0.0.1)
fi
if [[ -n "$password" ]]; then
  args+=(--requirepass "$password")
fi

redis-server "${args[@]}" >&2

# Ready when PING answers (typically 0.1-0.2 s).
for _ in $(seq 1 100); do
  if [[ -S "$sock" ]] && [[ "$(cli ping 2>/dev/null)" == "PONG" ]]; then
    report
    exit 0
  fi
  sleep 0.1
done

echo "redis-server did not answer PING within 10 s; its log:" >&2
tail -n 20 "$dir/redis.log" >&2 || true
exit 1
