#!/usr/bin/env bash
# The shipped systemd units pass `systemd-analyze verify` (with ExecStart pointed at the build).
set -euo pipefail
src=${GPROF_SOURCE_DIR:?} build=${GPROF_BUILD_DIR:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed "s#/usr/bin/gprof-coordinator#$build/coordinator/gprof-coordinator#" \
  "$src/systemd/gprof-coordinator.service" > "$tmp/gprof-coordinator.service"
sed "s#/usr/sbin/gprof-agent#$build/agent/gprof-agent#" \
  "$src/systemd/gprof-agent.service" > "$tmp/gprof-agent.service"
for u in "$tmp"/*.service; do
  out=$(systemd-analyze verify --man=no "$u" 2>&1 || true)
  # Only problems with our unit count; messages about unrelated system units are noise here.
  mine=$(printf '%s\n' "$out" | grep -F "$(basename "$u")" || true)
  if [ -n "$mine" ]; then
    echo "FAIL: $(basename "$u"):"; printf '%s\n' "$mine"; exit 1
  fi
  echo "ok: $(basename "$u")"
done
