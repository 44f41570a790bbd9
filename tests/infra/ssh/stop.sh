#!/usr/bin/env bash
# tests/infra/ssh/stop.sh — stops the test sshd of start.sh (by its pid file only).
#   --purge   also delete its keys, config and log
set -uo pipefail
DIR=${CCAT_INFRA_DIR:-/tmp/ccat-infra}/ssh
if [ -s "$DIR/sshd.pid" ] && kill -0 "$(cat "$DIR/sshd.pid")" 2>/dev/null && [ "$(cat /proc/"$(cat "$DIR/sshd.pid")"/comm 2>/dev/null)" = sshd ]; then
  kill "$(cat "$DIR/sshd.pid")"; echo "sshd stopped"
fi
rm -f "$DIR/sshd.pid"
if [ "${1:-}" = "--purge" ]; then rm -rf "$DIR"; echo "purged $DIR"; fi
