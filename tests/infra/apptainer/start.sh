#!/usr/bin/env bash
# Installs the apptainer stand-in (apptainer-standin.sh, on bubblewrap) as
# ${CCAT_INFRA_DIR:-/tmp/ccat-infra}/apptainer/bin/apptainer, installing bubblewrap with apt-get
# when it is missing, and checks that bwrap can make a read-only bind here. Idempotent.
# Prints APPTAINER_PATH=<path>: point the APPTAINER_PATH setting (or the tests) at it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${CCAT_INFRA_DIR:-/tmp/ccat-infra}/apptainer"

if ! command -v bwrap >/dev/null 2>&1; then
  echo "bwrap not found: installing bubblewrap with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q bubblewrap >&2 || { apt-get update -q >&2 && apt-get install -y -q bubblewrap >&2; }
fi

mkdir -p "$dir/bin"
install -m 0755 "$here/apptainer-standin.sh" "$dir/bin/apptainer.new"
mv -f "$dir/bin/apptainer.new" "$dir/bin/apptainer"

# bwrap must work here (user namespaces or root) and enforce a read-only bind.
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
if ! bwrap --ro-bind / / --dev /dev --proc /proc --cap-drop ALL --ro-bind "$probe" /mnt true 2>"$probe.err"; then
  echo "bubblewrap cannot create a sandbox here: $(cat "$probe.err")" >&2
  rm -f "$probe.err"
  exit 1
fi
rm -f "$probe.err"
if bwrap --ro-bind / / --dev /dev --proc /proc --cap-drop ALL --ro-bind "$probe" "$probe" sh -c "echo x > '$probe/x'" 2>/dev/null; then
  echo "bubblewrap did not enforce a read-only bind here" >&2
  exit 1
fi

echo "APPTAINER_PATH=$dir/bin/apptainer"
