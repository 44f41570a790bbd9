#!/usr/bin/env bash
# Starts the Kubernetes API-server double (tests/CcatWorkflow.KubeApiDouble) in the background,
# over HTTPS with a bearer token, in run mode (each pod's command really runs on this host; the
# image is ignored) with namespace ccat-manual left for tests to drive by hand.
# State under ${CCAT_INFRA_DIR:-/tmp/ccat-infra}/kubernetes: kubeconfig (server, CA, token),
# kubeconfig-wrong-token, kubeconfig-no-ca, kubeconfig-refused, url, token, pid, double.log.
# Idempotent: a double already answering for this state directory is reused. Builds the double
# when its dll is missing or older than its sources.
#
# Prints, on success:
#   KUBECONFIG=<path>  K8S_DOUBLE_URL=<url>  K8S_DOUBLE_PID=<pid>
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
project="$repo/tests/CcatWorkflow.KubeApiDouble"
dll="$project/bin/Release/net10.0/CcatWorkflow.KubeApiDouble.dll"
dir="${CCAT_INFRA_DIR:-/tmp/ccat-infra}/kubernetes"

mkdir -p "$dir"
chmod 700 "$dir"

report() {
  echo "KUBECONFIG=$dir/kubeconfig"
  echo "K8S_DOUBLE_URL=$(cat "$dir/url")"
  echo "K8S_DOUBLE_PID=$(cat "$dir/pid")"
}

answers() {
  [[ -f "$dir/url" ]] || return 1
  local url; url="$(cat "$dir/url")"
  if command -v curl >/dev/null 2>&1; then
    curl -sfk --max-time 5 "${url}_double/info" >/dev/null 2>&1
  else
    local hostport="${url#https://}"; hostport="${hostport%/}"
    (exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null
  fi
}

# Build when missing or stale (any source newer than the dll).
if [[ ! -f "$dll" ]] || [[ -n "$(find "$project" -name '*.cs' -newer "$dll" -not -path '*/obj/*' -not -path '*/bin/*' -print -quit)" ]] \
   || [[ "$project/CcatWorkflow.KubeApiDouble.csproj" -nt "$dll" ]]; then
  echo "building the Kubernetes API-server double" >&2
  dotnet build "$project/CcatWorkflow.KubeApiDouble.csproj" -c Release --nologo -v quiet >&2
fi

# Already running for this state directory, from the current build?
if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null && answers && [[ ! "$dll" -nt "$dir/pid" ]]; then
  report
  exit 0
fi

# A stale pid from a crashed run: make sure that process is not ours any more.
"$here/stop.sh" >&2
rm -f "$dir/pid" "$dir/url" "$dir/kubeconfig"

if [[ ! -s "$dir/token" ]]; then
  (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/token")
fi

# setsid + redirections: the double must not hold the caller's terminal or pipes open.
setsid dotnet "$dll" --state-dir "$dir" --https --token "$(cat "$dir/token")" --mode run --manual-namespaces ccat-manual \
  > "$dir/double.log" 2>&1 < /dev/null &

for _ in $(seq 1 300); do
  if [[ -f "$dir/pid" && -f "$dir/kubeconfig" ]] && answers; then
    report
    exit 0
  fi
  sleep 0.1
done

echo "the Kubernetes API-server double did not start; its log:" >&2
cat "$dir/double.log" >&2
exit 1
