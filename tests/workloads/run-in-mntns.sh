#!/bin/bash
# run-in-mntns.sh — runs a workload in its own mount namespace from a path the host cannot see:
# a private tmpfs is mounted over /tmp inside the namespace and the binary is copied there.
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
exec unshare "${flags[@]}" /bin/sh -c '
  mount -t tmpfs gprof-wl /tmp || exit 1
  mkdir -p /tmp/gprof-nsonly
  cp "$0" /tmp/gprof-nsonly/ || exit 1
  exec /tmp/gprof-nsonly/"$(basename "$0")" "$@"' "$bin" "$@"
