#!/usr/bin/env bash
# tests/infra/slurm/stop.sh — stops the daemons started by start.sh, by their pid files only
# (a pid is signalled only when /proc/<pid>/comm names the expected daemon).
#   --purge   also delete the state (slurmctld state and the accounting database together,
#             so job ids and accounting records never disagree), logs and configs.
# munged is left running unless --purge is given: other tools on the machine may use it.
set -uo pipefail

ROOT=${CCAT_INFRA_DIR:-/tmp/ccat-infra}/slurm
RUNDIR=$ROOT/run
purge=0
[ "${1:-}" = "--purge" ] && purge=1

# gone PID: the process has exited (a zombie that nobody has reaped yet counts as exited)
gone() {
  local state
  state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2> /dev/null)
  [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]
}

halt() { # halt PIDFILE NAME
  local file=$1 name=$2 pid n
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = "$name" ]; then
    echo "[slurm-infra] stopping $name ($pid)"
    kill -TERM "$pid" 2> /dev/null
    for ((n = 0; n < 80; n++)); do
      gone "$pid" && break
      sleep 0.25
    done
    gone "$pid" || kill -KILL "$pid" 2> /dev/null
  fi
  rm -f "$file"
}

halt "$RUNDIR/slurmrestd.pid" slurmrestd
halt "$RUNDIR/slurmd.pid" slurmd
halt "$RUNDIR/slurmctld.pid" slurmctld
halt "$RUNDIR/slurmdbd.pid" slurmdbd
halt "$RUNDIR/mariadb.pid" mariadbd

if [ "$purge" = 1 ]; then
  halt /run/munge/munged.pid munged
  for f in slurm.conf slurmdbd.conf cgroup.conf; do
    [ "$(readlink "/etc/slurm/$f" 2> /dev/null)" = "$ROOT/etc/$f" ] && rm -f "/etc/slurm/$f"
  done
  rm -rf "$ROOT"
  echo "[slurm-infra] purged $ROOT"
fi
exit 0
