#!/usr/bin/env bash
# Lazy unwind tables against eager ones, side by side in one run (issue 13): two host-wide
# `gprofctl record` processes at once, one with `--unwind-tables lazy` (the default: a process's
# executable and libc when it is noted, other binaries on a BPF miss report) and one with
# `--unwind-tables eager` (every mapped binary when its process is noted), on the same host
# while a no-FP workload runs (tests/workloads/wl_uw_deep: one process per CPU, ~20-frame
# stacks down to a leaf in a no-FP library) and processes churn (python3 and xz started every
# CHURN_S seconds: each maps binaries no sample may ever land in). Reports, per mode, the
# tables built (at note / on a miss), their build CPU, rows and kernel bytes, the profiler's CPU
# (user + sys), and the share of the workload's samples that reach main.
# Usage (root): bench/unwind_lazy.sh [SECONDS (default 30)]
#   env: GPROF_BUILD_DIR (default build), CHURN_S (default 0.2), FREQ (default 99)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-30}
FREQ=${FREQ:-99}
CHURN_S=${CHURN_S:-0.2}
BUILD=${GPROF_BUILD_DIR:-build}
GPROFCTL=$BUILD/cli/gprofctl
WL=$BUILD/tests/workloads
out=bench/results/unwind-lazy-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
[ -x "$GPROFCTL" ] && [ -x "$WL/wl_uw_deep" ] || { echo "build first (with -DGPROF_BUILD_TESTS=ON)" >&2; exit 1; }
for t in python3 xz /usr/bin/time; do
  command -v "$t" > /dev/null || { echo "missing $t: run scripts/install-deps.sh" >&2; exit 1; }
done

"$WL/wl_uw_deep" $((DUR + 10)) "$(nproc)" 18 > "$out/workload.out" &
WPID=$!
churn() {
  while :; do
    python3 -c 'import json, zlib' > /dev/null 2>&1 || true
    xz -9 < /dev/null > /dev/null 2>&1 || true
    sleep "$CHURN_S"
  done
}
churn &
CPID=$!
trap 'kill $CPID 2> /dev/null || true; pkill -TERM -P $WPID 2> /dev/null || true; kill $WPID 2> /dev/null || true' EXIT
sleep 1

RPIDS=()
for mode in lazy eager; do
  /usr/bin/time -f "%U %S %M" -o "$out/$mode.time" \
    "$GPROFCTL" record -q --sampler bpf --unwind-tables $mode -d "$DUR" -F "$FREQ" -o "$out/$mode.col" \
    2> "$out/$mode.err" &
  RPIDS+=($!)
done
for p in "${RPIDS[@]}"; do wait "$p" || { cat "$out"/*.err >&2; exit 1; }; done
kill $CPID 2> /dev/null || true

printf '%-6s %7s %8s %8s %9s %9s %8s %10s %12s %7s %7s %9s\n' mode tables built at_note on_miss build_ms rows kernel_KiB 'misses(ign)' pending cpu_s reach_main
for mode in lazy eager; do
  read -r u s m < <(tail -n 1 "$out/$mode.time")
  python3 - "$out/$mode.col" "$mode" "$u" "$s" <<'PY'
import json, re, sys
path, mode, u, s = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
lines = open(path).read().splitlines()
uw = json.loads(lines[0][2:])["gprof"]["unwind"]
tot = main = 0
for l in lines[1:]:
    stack, _, n = l.rpartition(" ")
    f = stack.split(";")
    if len(f) < 3 or f[2] != "wl_uw_deep":
        continue
    tot += int(n)
    if "main" in f[3:]:
        main += int(n)
print("%-6s %7d %8d %8d %9d %9.1f %8d %10.0f %6d(%d) %7d %7.2f %8.1f%%" % (
    mode, uw["tables"], uw["tables_built"], uw["built_at_note"], uw["built_on_miss"],
    uw["build_ms"], uw["rows"], uw["kernel_bytes"] / 1024, uw["misses"], uw["misses_ignored"],
    uw["mappings_pending"], u + s, 100.0 * main / tot if tot else 0))
PY
done | tee "$out/summary.txt"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); results in $out"
