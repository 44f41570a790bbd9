#!/usr/bin/env bash
# tests/infra/ssh/start.sh — a real OpenSSH server on loopback for the Slurm SSH transport's tests:
# Debian's sshd run as a plain process (no systemd, the distribution's service never started),
# with its own host key, its own authorized keys and a dedicated test user that runs the Slurm
# commands of tests/infra/slurm (found through the /etc/slurm links that start.sh makes).
#
# Idempotent: when our sshd already answers on the port it only checks and prints (< 1 s).
# Installs openssh-server with apt-get when it is missing (a policy-rc.d that exits 101 keeps the
# package scripts from starting the distribution's sshd). Needs root.
# State (keys, config, log) lives under $CCAT_INFRA_DIR/ssh (default /tmp/ccat-infra/ssh).
#
# Options (environment):
#   CCAT_INFRA_DIR   root of the test infrastructure state     (default /tmp/ccat-infra)
#   CCAT_SSH_PORT    loopback port, below the ephemeral range   (default 2222)
#   CCAT_SSH_USER    the test user                              (default ccatssh)
#
# Prints, on success, the settings a client needs (eval-able), plus the log to count logins in:
#   CCAT_WORKFLOW_MANAGER_SLURM_TRANSPORT=ssh, ..._SLURM_SSH_HOST, _PORT, _USER, _KEY_FILE,
#   _KNOWN_HOSTS, and SSHD_LOG=<file> (LogLevel VERBOSE: one "Accepted publickey" per connection,
#   one "Starting session:" per exec or sftp channel).
set -euo pipefail

DIR=${CCAT_INFRA_DIR:-/tmp/ccat-infra}/ssh
PORT=${CCAT_SSH_PORT:-2222}
USER_NAME=${CCAT_SSH_USER:-ccatssh}
CONF=$DIR/sshd_config
PIDFILE=$DIR/sshd.pid
LOG=$DIR/sshd.log

die() { echo "[start-ssh] ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

report() {
  echo "CCAT_WORKFLOW_MANAGER_SLURM_TRANSPORT=ssh"
  echo "CCAT_WORKFLOW_MANAGER_SLURM_SSH_HOST=127.0.0.1"
  echo "CCAT_WORKFLOW_MANAGER_SLURM_SSH_PORT=$PORT"
  echo "CCAT_WORKFLOW_MANAGER_SLURM_SSH_USER=$USER_NAME"
  echo "CCAT_WORKFLOW_MANAGER_SLURM_SSH_KEY_FILE=$DIR/keys/client_ed25519"
  echo "CCAT_WORKFLOW_MANAGER_SLURM_SSH_KNOWN_HOSTS=$DIR/known_hosts"
  echo "SSHD_LOG=$LOG"
}

answers() { # the server of this state directory accepts our key and runs a command
  ssh -p "$PORT" -i "$DIR/keys/client_ed25519" -o UserKnownHostsFile="$DIR/known_hosts" \
      -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=5 "$USER_NAME@127.0.0.1" true >/dev/null 2>&1
}

alive() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && [ "$(cat /proc/"$(cat "$PIDFILE")"/comm 2>/dev/null)" = sshd ]; }

if alive && [ -s "$DIR/known_hosts" ] && answers; then
  report
  exit 0
fi

# ------------------------------------------------------------------ install
if ! [ -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null || ! command -v ssh >/dev/null; then
  echo "[start-ssh] installing openssh-server (the distribution's service is not started)" >&2
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; created_policy=1
  fi
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] || apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
      openssh-server openssh-sftp-server openssh-client >&2
  if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# ------------------------------------------------------------- user and keys
if ! id "$USER_NAME" >/dev/null 2>&1; then
  useradd -m -s /bin/bash "$USER_NAME"
fi
usermod -p '*' "$USER_NAME"   # no password, but not locked ('!' makes sshd refuse even a key)

mkdir -p "$DIR/keys" "$DIR/authorized_keys" /run/sshd
chmod 755 "$DIR"; chmod 700 "$DIR/keys"; chmod 755 "$DIR/authorized_keys"
[ -s "$DIR/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C ccat-test-host -f "$DIR/ssh_host_ed25519_key"
[ -s "$DIR/keys/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C ccat-test-client -f "$DIR/keys/client_ed25519"
# A second key, never authorized: tests use it for "refused authentication".
[ -s "$DIR/keys/stranger_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C ccat-test-stranger -f "$DIR/keys/stranger_ed25519"
install -m 644 "$DIR/keys/client_ed25519.pub" "$DIR/authorized_keys/$USER_NAME"
# known_hosts written from our own host key (not from a scan: the key is pinned by construction).
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$DIR/ssh_host_ed25519_key.pub")" > "$DIR/known_hosts"
# A known_hosts naming another key for the same host: tests use it for "host key mismatch".
[ -s "$DIR/other_host_key" ] || ssh-keygen -q -t ed25519 -N '' -C ccat-test-other -f "$DIR/other_host_key"
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$DIR/other_host_key.pub")" > "$DIR/known_hosts_wrong"
chmod 644 "$DIR/known_hosts" "$DIR/known_hosts_wrong"

cat > "$CONF" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $DIR/ssh_host_ed25519_key
PidFile $PIDFILE
AuthorizedKeysFile $DIR/authorized_keys/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $USER_NAME
UsePAM no
StrictModes no
LogLevel VERBOSE
Subsystem sftp internal-sftp
MaxStartups 100
MaxSessions 100
ClientAliveInterval 60
CONF
/usr/sbin/sshd -t -f "$CONF" || die "sshd rejects $CONF"

# ------------------------------------------------------------------- start
if alive; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; sleep 0.5; fi
/usr/sbin/sshd -D -f "$CONF" -E "$LOG" < /dev/null > /dev/null 2>&1 &
for _ in $(seq 50); do answers && break; sleep 0.2; done
answers || { tail -20 "$LOG" >&2; die "sshd on 127.0.0.1:$PORT does not accept the test key"; }
report
