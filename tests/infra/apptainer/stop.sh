#!/usr/bin/env bash
# Removes the stand-in installed by start.sh (nothing runs in the background). Idempotent.
set -euo pipefail
rm -rf "${CCAT_INFRA_DIR:-/tmp/ccat-infra}/apptainer"
