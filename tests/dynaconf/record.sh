#!/usr/bin/env bash
# Records the real Dynaconf's answers for tests/dynaconf/cases.json into recorded.json.
# Run by hand (as root, it installs Debian's python3-dynaconf 3.1.7); the xunit tests only read
# the recording and need no Python. Re-run after changing cases.json and commit both files.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! /usr/bin/python3 -c 'import dynaconf' 2> /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-dynaconf > /dev/null
fi
# Debian's interpreter: the package installs into its dist-packages.
/usr/bin/python3 "$here/record.py"
