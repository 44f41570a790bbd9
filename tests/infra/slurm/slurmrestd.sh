#!/usr/bin/env bash
# tests/infra/slurm/slurmrestd.sh — Slurm's REST daemon (Debian's slurmrestd, JWT authentication)
# beside the cluster of start.sh, which calls this last (run it alone only while the cluster is up).
#
# slurmrestd refuses to run as root, so it runs as a dedicated system user (slurmrest) that cannot
# read the JWT key: it hands each request's token to slurmctld/slurmdbd, which check it. It needs
# SLURM_JWT=daemon in its environment, or every request is refused with 401. It listens on loopback
# TCP and on a unix socket, and serves every OpenAPI plugin it has (22.05: v0.0.36–38, dbv0.0.36–38).
# Idempotent: when it already answers a ping it only mints a token and prints (< 1 s). Needs root.
#
# Options (environment):
#   CCAT_INFRA_DIR        root of the test infrastructure state     (default /tmp/ccat-infra)
#   CCAT_SLURMREST_PORT   loopback port, below the ephemeral range   (default 6820)
#   CCAT_SLURMREST_USER   the user the REST settings name (jobs run as it; root may act for anyone)
#                                                                   (default root)
#
# Prints, on success, the settings a client needs (eval-able) and the files tests use:
#   CCAT_WORKFLOW_MANAGER_SLURM_REST_URL, _SLURM_REST_USER, _SLURM_REST_TOKEN (a fresh token, one
#   day), SLURM_REST_SOCKET_URL=unix://<socket>, SLURM_JWT_KEY=<key file> (tests sign expired
#   tokens with it) and SLURMRESTD_LOG=<file>.
set -euo pipefail

ROOT=${CCAT_INFRA_DIR:-/tmp/ccat-infra}/slurm
PORT=${CCAT_SLURMREST_PORT:-6820}
REST_USER=${CCAT_SLURMREST_USER:-root}
ETC=$ROOT/etc
DIR=$ROOT/rest
PIDFILE=$ROOT/run/slurmrestd.pid
LOG=$ROOT/log/slurmrestd.log
SOCK=$DIR/sock/slurmrestd.socket
export SLURM_CONF=$ETC/slurm.conf

fail() { printf '[slurmrestd-infra] ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "run as root"
[ -x /usr/sbin/slurmrestd ] ||
  fail "slurmrestd is not installed: run tests/infra/slurm/start.sh (it installs slurmrestd and slurm-wlm-jwt-plugin)"
[ -s "$ETC/jwt_hs256.key" ] || fail "no JWT key: run tests/infra/slurm/start.sh first"

exec 8> "$ROOT/.slurmrestd.lock"
flock -w 60 8 || fail "another slurmrestd.sh holds $ROOT/.slurmrestd.lock"

running() {
  [ -s "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE")
  [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = slurmrestd ]
}
# a token for REST_USER from slurmctld (stdout is one line: SLURM_JWT=<token>)
token() { timeout 10 scontrol token username="$REST_USER" lifespan="${1:-86400}" 2> /dev/null | sed -n 's/^SLURM_JWT=//p'; }
answers() {
  local t; t=$(token 60) && [ -n "$t" ] || return 1
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "X-SLURM-USER-NAME: $REST_USER" -H "X-SLURM-USER-TOKEN: $t" \
      "http://127.0.0.1:$PORT/slurm/v0.0.38/ping")" = 200 ]
}

if ! running || ! answers; then
  id slurmrest > /dev/null 2>&1 || useradd --system --no-create-home --user-group --shell /usr/sbin/nologin slurmrest
  command -v curl > /dev/null || fail "curl is missing"
  if running; then kill -TERM "$(cat "$PIDFILE")" 2> /dev/null || true; sleep 2; fi
  mkdir -p "$DIR/sock"
  chmod 755 "$DIR"; chown slurmrest:slurmrest "$DIR/sock"; chmod 755 "$DIR/sock"
  rm -f "$SOCK"
  # -u/-g: started as root, it drops to slurmrest before serving (it refuses to serve as root).
  SLURM_JWT=daemon nohup /usr/sbin/slurmrestd -u slurmrest -g slurmrest -a rest_auth/jwt \
    "127.0.0.1:$PORT" "unix:$SOCK" >> "$LOG" 2>&1 < /dev/null 8>&- 9>&- &
  echo $! > "$PIDFILE"
  for _ in $(seq 60); do answers && break; sleep 0.25; done
  answers || { tail -20 "$LOG" >&2; fail "slurmrestd on 127.0.0.1:$PORT does not answer a ping with a token"; }
fi

TOKEN=$(token 86400)
[ -n "$TOKEN" ] || fail "scontrol token gave no token"
echo "CCAT_WORKFLOW_MANAGER_SLURM_REST_URL=http://127.0.0.1:$PORT"
echo "CCAT_WORKFLOW_MANAGER_SLURM_REST_USER=$REST_USER"
echo "CCAT_WORKFLOW_MANAGER_SLURM_REST_TOKEN=$TOKEN"
echo "SLURM_REST_SOCKET_URL=unix://$SOCK"
echo "SLURM_JWT_KEY=$ETC/jwt_hs256.key"
echo "SLURMRESTD_LOG=$LOG"
