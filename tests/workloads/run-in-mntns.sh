#!/bin/bash
# run-in-mntns.sh — runs a workload in its own mount namespace from a path the host cannot see:
# a private tmpfs is mounted over /tmp inside the namespace and the binary is copied there
# (read through a descriptor opened before the mount, so a build tree under /tmp works).
# Usage: run-in-mntns.sh BINARY [ARGS...]   (root; the workload's stdout is passed through)
# With GPROF_WL_PIDNS=1 it also gets its own pid namespace: the pid it prints is then its
# namespace pid (1); its host pid is the only child of this script's process (unshare --fork).
set -euo pipefail
bin=$(readlink -f "$1")
shift
flags=(--mount --propagation private)
if [[ "${GPROF_WL_PIDNS:-0}" == 1 ]]; then
  flags+=(--pid --fork --mount-proc)
fi
# The binary is opened before the tmpfs hides /tmp: the build tree itself may live under /tmp.
exec unshare "${flags[@]}" /bin/sh -c '
  exec 3< "$0" || exit 1
  mount -t tmpfs gprof-wl /tmp || exit 1
  mkdir -p /tmp/gprof-nsonly
  dst=/tmp/gprof-nsonly/"$(basename "$0")"
  cat <&3 > "$dst" && chmod 755 "$dst" || exit 1
  exec 3<&-
  exec "$dst" "$@"' "$bin" "$@"
