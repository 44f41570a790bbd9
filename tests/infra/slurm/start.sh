#!/usr/bin/env bash
# tests/infra/slurm/start.sh — a real single-node Slurm cluster with accounting for the tests:
# munged, MariaDB, slurmdbd, slurmctld and slurmd, each started directly (no systemd).
#
# Idempotent: when everything is already up it only checks and returns (< 1 s). Installs the
# Debian packages it needs (apt-get update only when the package lists are missing). Needs root.
# State, configs and logs live under $CCAT_INFRA_DIR/slurm (default /tmp/ccat-infra/slurm).
#
# Options (environment):
#   CCAT_INFRA_DIR   root of the test infrastructure state          (default /tmp/ccat-infra)
#   SLURM_DB_PORT    private MariaDB port on 127.0.0.1              (default 13306)
#   SLURM_NODE_CPUS  CPUs the node advertises; more than the real count oversubscribes the
#                    machine so many small test jobs run at once     (default 16)
#   SLURM_CLUSTER    cluster name                                   (default ccat)
#   LINK_ETC         1 = symlink /etc/slurm/{slurm,slurmdbd,cgroup}.conf to ours, so plain
#                    sbatch/squeue/sacct work without SLURM_CONF     (default 1)
#
# Facts this relies on (Slurm 22.05 on Debian 12, learned the hard way):
#  * slurmd always initialises a cgroup plugin; CgroupPlugin=cgroup/v1 is the one whose init is a
#    no-op, so slurmd starts whatever the host's cgroup layout (there is no "disabled" in 22.05).
#  * Without cgroups, --mem is enforced by JobAcctGatherParams=OverMemoryKill (1 s RSS polling):
#    an over-memory job ends FAILED 0:9 with "exceeded memory limit" in its stderr.
#  * CR_Core_Memory needs DefMemPerCPU, or a job without --mem takes the whole node.
#  * batch_sched_delay=0 brings a trivial job from ~3 s to < 1 s end to end.
#  * slurmctld state and the accounting database are wiped together (stop.sh --purge), else job
#    ids restart at 1 while sacct still holds the old records.
#  * AccountingStoreFlags=job_comment: the module tags its jobs with --comment and reads it back
#    from sacct.
#  * JWT (for slurmrestd, started last by slurmrestd.sh): AuthAltTypes=auth/jwt with a key only
#    SlurmUser (root) reads, in slurm.conf AND slurmdbd.conf. `scontrol reconfigure` does not load
#    it: a slurmctld or slurmdbd started before the lines existed is restarted once (a marker file
#    next to its pid file says it was started with JWT).
#
# Prints, last, the settings of the REST transport (CCAT_WORKFLOW_MANAGER_SLURM_REST_URL=... and
# friends; see slurmrestd.sh), so a shell can eval them.
set -euo pipefail

ROOT=${CCAT_INFRA_DIR:-/tmp/ccat-infra}/slurm
DB_PORT=${SLURM_DB_PORT:-13306}
NODE_CPUS=${SLURM_NODE_CPUS:-16}
CLUSTER=${SLURM_CLUSTER:-ccat}
LINK_ETC=${LINK_ETC:-1}
HOST=$(hostname -s)
ETC=$ROOT/etc
VAR=$ROOT/var
LOGDIR=$ROOT/log
RUNDIR=$ROOT/run
SOCK=$RUNDIR/mariadb.sock
export SLURM_CONF=$ETC/slurm.conf

say() { printf '[slurm-infra %s] %s\n' "$(date +%T)" "$*"; }
fail() { printf '[slurm-infra] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (the daemons run as root/munge/mysql)"
mkdir -p "$ROOT"

# One start at a time (build.ps1 and the Pester file may both call this). Every daemon below is
# started with fd 9 closed, or it would hold the lock for as long as it runs.
exec 9> "$ROOT/.start.lock"
flock -w 120 9 || fail "another start.sh has held $ROOT/.start.lock for 2 minutes"

# running PIDFILE NAME: the pid in PIDFILE is alive and is NAME (a stale file whose pid now
# belongs to another program is not, and neither is a zombie: a daemon killed a moment ago
# still has a /proc entry until it is reaped)
running() {
  [ -s "$1" ] || return 1
  local pid state; pid=$(cat "$1")
  [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = "$2" ] || return 1
  state=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2> /dev/null)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
# await SECONDS WHAT COMMAND...: retry COMMAND (each try at most 10 s) until it succeeds or
# SECONDS of wall time have passed
await() {
  local limit=$1 what=$2 deadline; shift 2
  deadline=$((SECONDS + limit))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if declare -F "$1" > /dev/null; then # a function bounds its own commands
      "$@" > /dev/null 2>&1 && return 0
    else
      timeout 10 "$@" > /dev/null 2>&1 && return 0
    fi
    sleep 0.25
  done
  fail "gave up after ${limit}s waiting for $what"
}

# ---------------------------------------------------------------- packages
need=()
for pkg in munge mariadb-server slurmdbd slurmctld slurmd slurm-client slurmrestd slurm-wlm-jwt-plugin; do
  dpkg-query -W -f='${Status}' "$pkg" 2> /dev/null | grep -q 'ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  # keep the packages' maintainer scripts from starting daemons (there is no init system here)
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
  fi
  if ! ls /var/lib/apt/lists/*_Packages* > /dev/null 2>&1; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${need[@]}" > "$ROOT/apt.log" 2>&1 || { tail -20 "$ROOT/apt.log" >&2; fail "apt-get install failed"; }
  [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

mkdir -p "$ETC" "$VAR/ctld" "$VAR/slurmd" "$VAR/db" "$LOGDIR" "$RUNDIR" "$ROOT/munge"
chmod 755 "$ROOT" "$ETC" "$VAR" "$LOGDIR" "$RUNDIR"
chown mysql:mysql "$VAR/db" "$RUNDIR"
chown munge:munge "$ROOT/munge" && chmod 700 "$ROOT/munge"

# ---------------------------------------------------------------- munge
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  mungekey --create --keyfile=/etc/munge/munge.key 2> /dev/null ||
    head -c 1024 /dev/urandom > /etc/munge/munge.key
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 700 /etc/munge && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
if ! running /run/munge/munged.pid munged; then
  say "starting munged"
  rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid \
    --log-file="$ROOT/munge/munged.log" --seed-file="$ROOT/munge/munged.seed" 9>&-
  await 20 munged sh -c 'munge -n | unmunge'
fi

# ---------------------------------------------------------------- MariaDB (private datadir and port)
cat > "$ETC/my.cnf" << EOF
[mysqld]
user=mysql
datadir=$VAR/db
socket=$SOCK
pid-file=$RUNDIR/mariadb.pid
port=$DB_PORT
bind-address=127.0.0.1
skip-name-resolve
log-error=$LOGDIR/mariadb.log
innodb_buffer_pool_size=512M
innodb_log_file_size=64M
innodb_lock_wait_timeout=900
EOF
if [ ! -d "$VAR/db/mysql" ]; then
  say "creating the MariaDB datadir"
  mariadb-install-db --defaults-file="$ETC/my.cnf" --auth-root-authentication-method=socket \
    --skip-test-db > "$LOGDIR/mariadb-install.log" 2>&1 || { tail -20 "$LOGDIR/mariadb-install.log" >&2; fail "mariadb-install-db failed"; }
fi
if ! running "$RUNDIR/mariadb.pid" mariadbd; then
  say "starting mariadbd"
  nohup /usr/sbin/mariadbd --defaults-file="$ETC/my.cnf" >> "$LOGDIR/mariadb.out" 2>&1 9>&- &
  await 60 mariadbd mariadb -S "$SOCK" -uroot -e 'SELECT 1'
fi
mariadb -S "$SOCK" -uroot << 'EOF'
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'ccat-slurm-db';
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'ccat-slurm-db';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF

# ---------------------------------------------------------------- JWT key (SlurmUser only)
JWT_KEY=$ETC/jwt_hs256.key
if [ ! -s "$JWT_KEY" ]; then
  (umask 077 && head -c 32 /dev/urandom > "$JWT_KEY.new") && mv "$JWT_KEY.new" "$JWT_KEY"
fi
chown root:root "$JWT_KEY" && chmod 600 "$JWT_KEY"

# ---------------------------------------------------------------- Slurm configuration
real_cpus=$(nproc)
mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
if [ "$NODE_CPUS" -gt "$real_cpus" ]; then
  # more CPUs than the hardware: slurmd must be told to trust the config, not its own detection
  node_topology="CPUs=$NODE_CPUS"
  slurmd_parameters="SlurmdParameters=config_overrides"
else
  # the line must match `slurmd -C` or slurmd re-reports its socket/core layout
  node_topology=$(slurmd -C | head -1 | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=' | tr '\n' ' ')
  slurmd_parameters=""
fi

cat > "$ETC/slurm.conf.new" << EOF
# written by tests/infra/slurm/start.sh
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$JWT_KEY
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$VAR/ctld
SlurmdSpoolDir=$VAR/slurmd
SlurmctldPidFile=$RUNDIR/slurmctld.pid
SlurmdPidFile=$RUNDIR/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
MinJobAge=30
KillWait=2
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
Waittime=0
MaxJobCount=20000
$slurmd_parameters
NodeName=$HOST NodeAddr=127.0.0.1 $node_topology RealMemory=$((mem_mb * 9 / 10)) State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
mv "$ETC/slurm.conf.new" "$ETC/slurm.conf"

cat > "$ETC/slurmdbd.conf" << EOF
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$JWT_KEY
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
DebugLevel=info
LogFile=$LOGDIR/slurmdbd.log
PidFile=$RUNDIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=ccat-slurm-db
StorageLoc=slurm_acct_db
EOF
chown root:root "$ETC/slurmdbd.conf" && chmod 600 "$ETC/slurmdbd.conf" # slurmdbd insists
echo 'CgroupPlugin=cgroup/v1' > "$ETC/cgroup.conf"
[ -e "$ETC/plugstack.conf" ] || : > "$ETC/plugstack.conf"
if [ "$LINK_ETC" = 1 ]; then
  mkdir -p /etc/slurm
  for f in slurm.conf slurmdbd.conf cgroup.conf; do ln -sfn "$ETC/$f" "/etc/slurm/$f"; done
fi

# ---------------------------------------------------------------- slurmdbd, slurmctld, slurmd
# with_jwt NAME: the running daemon was started by this script with the AuthAlt lines above
with_jwt() { [ -s "$RUNDIR/$1.jwt" ] && [ "$(cat "$RUNDIR/$1.jwt")" = "$(cat "$RUNDIR/$1.pid" 2> /dev/null)" ]; }
# restart_without_jwt NAME: stop a daemon started before JWT was configured (by its pid file only)
restart_without_jwt() {
  local pid n
  running "$RUNDIR/$1.pid" "$1" && ! with_jwt "$1" || return 0
  pid=$(cat "$RUNDIR/$1.pid")
  say "restarting $1 ($pid) to load auth/jwt"
  kill -TERM "$pid" 2> /dev/null
  for ((n = 0; n < 120; n++)); do running "$RUNDIR/$1.pid" "$1" || break; sleep 0.25; done
  running "$RUNDIR/$1.pid" "$1" && kill -KILL "$pid" 2> /dev/null
  rm -f "$RUNDIR/$1.pid"
}
restart_without_jwt slurmdbd
restart_without_jwt slurmctld
if ! running "$RUNDIR/slurmdbd.pid" slurmdbd; then
  say "starting slurmdbd"
  nohup /usr/sbin/slurmdbd -D >> "$LOGDIR/slurmdbd.out" 2>&1 9>&- & # reads slurmdbd.conf next to $SLURM_CONF
  echo $! > "$RUNDIR/slurmdbd.pid"
  echo $! > "$RUNDIR/slurmdbd.jwt"
  await 60 slurmdbd sacctmgr -n list cluster
fi
sacctmgr -n -P list cluster format=cluster 2> /dev/null | grep -qx "$CLUSTER" || sacctmgr -i add cluster "$CLUSTER" > /dev/null

if ! running "$RUNDIR/slurmctld.pid" slurmctld; then
  say "starting slurmctld"
  nohup /usr/sbin/slurmctld -D -f "$SLURM_CONF" >> "$LOGDIR/slurmctld.out" 2>&1 9>&- &
  echo $! > "$RUNDIR/slurmctld.pid"
  echo $! > "$RUNDIR/slurmctld.jwt"
  await 60 slurmctld scontrol ping
fi
if ! running "$RUNDIR/slurmd.pid" slurmd; then
  say "starting slurmd"
  nohup /usr/sbin/slurmd -D -N "$HOST" -f "$SLURM_CONF" >> "$LOGDIR/slurmd.out" 2>&1 9>&- &
  echo $! > "$RUNDIR/slurmd.pid"
fi

node_usable() {
  local state
  state=$(timeout 10 sinfo -h -N -n "$HOST" -o '%T' 2> /dev/null | head -1)
  case "$state" in
    idle | mixed | allocated | completing) return 0 ;;
    *drain* | down* | *fail*) timeout 10 scontrol update nodename="$HOST" state=resume > /dev/null 2>&1 || true; return 1 ;;
    *) return 1 ;; # e.g. "idle*": restored from state, slurmd not registered yet
  esac
}
await 60 "node $HOST to be idle" node_usable
say "cluster $CLUSTER up: $(sinfo -h -o '%P %a %D nodes %T %c cpus %m MB')"

# ---------------------------------------------------------------- slurmrestd (JWT), prints its settings
bash "$(dirname "${BASH_SOURCE[0]}")/slurmrestd.sh" 9>&-
