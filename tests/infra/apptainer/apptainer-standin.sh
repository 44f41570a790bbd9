#!/usr/bin/env bash
# apptainer stand-in for the tests (apptainer cannot be installed here). Implements
# `apptainer exec` on bubblewrap with real bind mounts:
#   * the "image" is the host's /usr, /etc and library directories on an empty tmpfs root, all
#     read-only as a SIF is — so a host path that is not bound is invisible, as in a real image
#     (a missing --bind shows up as a failure, not as something that silently works); an image
#     that is a directory (an apptainer sandbox) is used as the root instead;
#   * --bind/-B SRC[:DST[:ro|rw]] (comma lists too): ro binds are really read-only, and every
#     capability is dropped so the payload cannot remount them writable (as root bwrap would
#     otherwise keep CAP_SYS_ADMIN);
#   * apptainer's default binds: $HOME, /tmp, /var/tmp and the working directory, unless
#     --contain/--containall;
#   * environment: the host's, unless --cleanenv/--containall; APPTAINERENV_X and --env X=V are
#     injected; APPTAINER_CONTAINER and APPTAINER_NAME are set;
#   * --pwd DIR; the command's exit code passes through; apptainer's own errors are
#     "FATAL: ..." with exit 255.
# When $APPTAINER_STANDIN_LOG is set, each call is appended to it (one line, shell-quoted).
set -euo pipefail

fatal() { echo "FATAL:   $*" >&2; exit 255; }

case "${1:-}" in
  --version|version) echo "apptainer version 1.3.6-standin"; exit 0 ;;
  exec) shift ;;
  "") fatal "no command given (the stand-in implements exec and --version)" ;;
  *) fatal "the stand-in implements only 'exec' (got '$1')" ;;
esac

binds=() envs=() pwd_dir="" cleanenv=0 contain=0 containall=0
split_commas() { local IFS=','; read -r -a _parts <<< "$1"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -B|--bind|--mount)  [[ $# -ge 2 ]] || fatal "$1 needs a value"; split_commas "$2"; binds+=("${_parts[@]}"); shift 2 ;;
    --bind=*|-B=*)      split_commas "${1#*=}"; binds+=("${_parts[@]}"); shift ;;
    --env)              [[ $# -ge 2 ]] || fatal "--env needs a value"; split_commas "$2"; envs+=("${_parts[@]}"); shift 2 ;;
    --env=*)            split_commas "${1#*=}"; envs+=("${_parts[@]}"); shift ;;
    --pwd)              [[ $# -ge 2 ]] || fatal "--pwd needs a value"; pwd_dir="$2"; shift 2 ;;
    --pwd=*)            pwd_dir="${1#*=}"; shift ;;
    -e|--cleanenv)      cleanenv=1; shift ;;
    -c|--contain)       contain=1; shift ;;
    -C|--containall)    containall=1; contain=1; cleanenv=1; shift ;;
    --no-home|--nv|--writable-tmpfs|-s|--silent|-q|--quiet) shift ;;
    --) shift; break ;;
    -*) fatal "unknown option $1 (not implemented by the stand-in)" ;;
    *) break ;;
  esac
done

[[ $# -ge 2 ]] || fatal "exec needs an image and a command"
image="$1"; shift
[[ -e "$image" ]] || fatal "could not open image $image: failed to retrieve path for $image: lstat $image: no such file or directory"

if [[ -n "${APPTAINER_STANDIN_LOG:-}" ]]; then
  { printf '%q ' apptainer exec; for b in "${binds[@]}"; do printf -- '--bind %q ' "$b"; done; printf '%q ' "$image" "$@"; echo; } >> "$APPTAINER_STANDIN_LOG"
fi

command -v bwrap >/dev/null 2>&1 || fatal "bubblewrap (bwrap) is not installed; run tests/infra/apptainer/start.sh"

bw=(bwrap)
if [[ -d "$image" ]]; then
  bw+=(--bind "$image" /)
else
  bw+=(--ro-bind /usr /usr --ro-bind /etc /etc)
  for d in bin sbin lib lib32 lib64 libx32; do
    if [[ -L "/$d" ]]; then bw+=(--symlink "$(readlink "/$d")" "/$d")
    elif [[ -d "/$d" ]]; then bw+=(--ro-bind "/$d" "/$d"); fi
  done
fi
bw+=(--dev /dev --proc /proc --cap-drop ALL --die-with-parent)

home="${HOME:-/root}"
if (( contain )); then
  bw+=(--tmpfs /tmp --tmpfs /var/tmp --dir "$home")
  default_pwd="$home"
else
  bw+=(--bind /tmp /tmp --bind /var/tmp /var/tmp)
  [[ -d "$home" ]] && bw+=(--bind "$home" "$home")
  bw+=(--bind "$PWD" "$PWD")
  default_pwd="$PWD"
fi
(( containall )) && bw+=(--unshare-pid --unshare-ipc)

for spec in "${binds[@]}"; do
  IFS=':' read -r src dst mode extra <<< "$spec"
  [[ -z "${extra:-}" ]] || fatal "bind $spec: too many ':'"
  dst="${dst:-$src}"
  [[ "$src" == /* && "$dst" == /* ]] || fatal "bind $spec: source and destination must be absolute paths"
  [[ -e "$src" ]] || fatal "container creation failed: mount $src->$dst error: while mounting $src: mount source $src doesn't exist"
  case "${mode:-rw}" in
    ro) bw+=(--ro-bind "$src" "$dst") ;;
    rw) bw+=(--bind "$src" "$dst") ;;
    *) fatal "bind $spec: unknown option '$mode'" ;;
  esac
done

# Environment.
if (( cleanenv )); then
  bw+=(--clearenv --setenv PATH /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --setenv HOME "$home" --setenv LANG C)
fi
while IFS= read -r -d '' kv; do
  name="${kv%%=*}"
  [[ "$name" == APPTAINERENV_* && -n "${name#APPTAINERENV_}" ]] && bw+=(--setenv "${name#APPTAINERENV_}" "${kv#*=}")
done < <(env -0)
bw+=(--setenv APPTAINER_CONTAINER "$image" --setenv APPTAINER_NAME "$(basename "$image")")
for kv in "${envs[@]}"; do
  [[ "$kv" == *=* ]] || fatal "--env $kv: expected NAME=VALUE"
  bw+=(--setenv "${kv%%=*}" "${kv#*=}")
done

# The image is read-only, as a SIF is (no --writable-tmpfs): only binds and tmpfs mounts are
# writable. Last, because the mount points above had to be made in it first.
bw+=(--remount-ro / --chdir "${pwd_dir:-$default_pwd}" --)
exec "${bw[@]}" "$@"
