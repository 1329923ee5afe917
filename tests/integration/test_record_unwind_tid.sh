#!/usr/bin/env bash
# Issue 13 leftovers: `gprofctl record --pid` given a thread id (not the process id) still walks
# the process's stacks with its unwind tables from the first sample, under the process's id
# (the tables were noted under the thread id: not found until the process's first-sample event
# noted it again, and held twice), and the header's
# run_arguments.perf_mode says what was done: "dwarf" with tables, "fp" without.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

"$WL/burn" -d 30 -t 2 > "$tmp/wl.out" &
wpid=$!
tid=
for _ in $(seq 50); do
  tid=$(ls "/proc/$wpid/task" 2>/dev/null | grep -vx "$wpid" | head -1 || true)
  [ -n "$tid" ] && break
  sleep 0.1
done
[ -n "$tid" ] || fail "burn started no thread"

header() { # FILE PERF_MODE MIN_END_WALKS [PROCESSES]
  python3 - "$@" <<'PY'
import json, sys
line = open(sys.argv[1]).readline()
assert line.startswith("# "), "no header"
h = json.loads(line[2:])
mode = h["metadata"]["run_arguments"]["perf_mode"]
u = h["gprof"].get("unwind") or {}
print("%s: perf_mode %s, gprof.unwind walks %s" % (sys.argv[1], mode, u.get("walks")))
assert mode == sys.argv[2], "perf_mode %s, want %s" % (mode, sys.argv[2])
assert u.get("walks", {}).get("end", 0) >= int(sys.argv[3]), "too few table walks reached the end"
if len(sys.argv) > 4:  # the thread's process, once (not also under the thread id)
    assert u["processes"] == int(sys.argv[4]), "%d processes with tables" % u["processes"]
for k in ("tables_idle", "tables_reused", "tables_over_limit", "mappings_over_limit"):
    assert k in u or not u, "gprof.unwind.%s missing" % k
PY
}

if ! "$GPROFCTL" record -q --sampler bpf --pid "$tid" -d 3 -F 199 -o "$tmp/tid.col" 2> "$tmp/err"; then
  cat "$tmp/err" >&2
  grep -qi 'bpf' "$tmp/err" && skip "BPF sampler cannot load"
  fail "record --pid TID failed"
fi
header "$tmp/tid.col" dwarf 50 1

"$GPROFCTL" record -q --sampler bpf --pid "$tid" -d 2 -F 199 --unwind-tables-max 0 \
  -o "$tmp/fp.col" 2> "$tmp/err" || { cat "$tmp/err" >&2; fail "record --unwind-tables-max 0 failed"; }
header "$tmp/fp.col" fp 0
echo "ok"
