#!/usr/bin/env bash
# Where `gprofctl record`'s CPU goes (issue 13): bench/unwind.sh's workload (one no-FP
# wl_uw_deep per CPU, ~24 frames) profiled host-wide at 99 Hz by each gprofctl given, in turn
# (interleaved rounds), each run itself sampled by `perf record -F 1999 --call-graph dwarf`;
# prints its user + sys CPU, its header's table counts and its CPU by phase
# (bench/record_phases.py: BPF load + verification, table build, map mirroring, maps reads,
# symbolization, drain, events, profile write). Wall time is noisy on a shared VM: compare the
# phases' shares and table counts, and say the load average (printed with each run).
# Usage (root): bench/record_phases.sh [-r ROUNDS] [-d SECONDS] GPROFCTL...
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=1 DUR=11
while getopts r:d: o; do case $o in r) ROUNDS=$OPTARG ;; d) DUR=$OPTARG ;; *) exit 2 ;; esac; done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-r ROUNDS] [-d SECONDS] GPROFCTL..." >&2; exit 2; }
for t in perf jq cc /usr/bin/time python3; do
  command -v "$t" >/dev/null || { echo "missing $t: run scripts/install-deps.sh" >&2; exit 1; }
done
out=bench/results/record-phases-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
W=tests/workloads
cc -O2 -g -fomit-frame-pointer -fPIC -shared -I$W $W/wl_uw_leaf.c -o "$out/libwluwleaf.so"
cc -O2 -g -fomit-frame-pointer -I$W $W/wl_uw_deep.c -o "$out/wl_uw_deep" -L"$out" -lwluwleaf \
  -Wl,-rpath,"$(realpath "$out")"
"$out/wl_uw_deep" 0 "$(nproc)" "${DEPTH:-18}" > "$out/workload.out" &
WPID=$!
trap 'pkill -TERM -P $WPID 2>/dev/null || true; kill $WPID 2>/dev/null || true' EXIT
sleep 1
for r in $(seq "$ROUNDS"); do
  i=0
  for ctl in "$@"; do
    i=$((i + 1))
    tag=r$r-$i
    load=$(cut -d" " -f1-3 /proc/loadavg)
    perf record -q -F 1999 --call-graph dwarf,16384 -o "$out/$tag.data" -- \
      /usr/bin/time -f "%U %S" -o "$out/$tag.time" "$ctl" record -q -F 99 -d "$DUR" \
      -o "$out/$tag.col" > /dev/null 2> "$out/$tag.err"
    perf script -i "$out/$tag.data" 2> /dev/null > "$out/$tag.txt"
    read -r u s < "$out/$tag.time"
    echo "== round $r, $ctl (load average $load): user $u s, sys $s s"
    head -n 1 "$out/$tag.col" | sed 's/^# //' |
      jq -r '.gprof.unwind | "   \(.tables) tables, \(.rows) rows, \(.build_ms | floor) ms of build, \(.processes) processes noted (\(.built_at_note) built at note, \(.built_on_miss) on a miss)"'
    python3 bench/record_phases.py "$out/$tag.txt" "$(echo "scale=5; 1000 / 1999" | bc)" | sed 's/^/   /'
    rm -f "$out/$tag.data"
  done
done
echo "results in $out"
