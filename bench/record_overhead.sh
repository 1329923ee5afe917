#!/usr/bin/env bash
# Profiler overhead, side by side in one run (issue 2): a CPU-bound workload on both cores,
# host-wide at 99 Hz, profiled by (a) gprofctl record, (b) bpftrace doing the same in-kernel
# aggregation, (c) perf record -g + perf script + folding. Reports ratios in a markdown table.
# Usage (root): bench/record_overhead.sh [SECONDS=60]   env: GPROF_BUILD_DIR (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-60}
FREQ=99
BUILD=${GPROF_BUILD_DIR:-build}
GPROFCTL=$BUILD/cli/gprofctl
out=bench/results/record-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
[ -x "$GPROFCTL" ] || { echo "build first: cmake -S . -B build && make -C build" >&2; exit 1; }
for t in bpftrace perf bpftool /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "missing $t: run scripts/install-deps.sh" >&2; exit 1; }
done

cc -O2 -g -fno-omit-frame-pointer -pthread bench/cpuwork.c -o "$out/cpuwork"
RATE=$("$out/cpuwork" 1 0.5 | sed -n 's/.*loops_per_second=\([0-9]*\).*/\1/p')
WORK=$(( DUR + 15 ))           # seconds of work per thread on an idle core: outlasts sampling
sysctl -qw kernel.bpf_stats_enabled=1
trap 'sysctl -qw kernel.bpf_stats_enabled=0' EXIT

now() { date +%s.%N; }

# BPF program run time: kernel.bpf_stats_enabled accounts it per program (bench/lib.sh).
. bench/lib.sh

# run NAME -- profiler command...; the profiler is stopped with SIGINT after DUR seconds.
declare -A CPU RSS FLUSH SLOW BPFNS BPFCNT
baseline_wall=
run_workload() { "$out/cpuwork" 2 "$WORK" "$RATE" | sed -n 's/.*wall_seconds=\([0-9.]*\).*/\1/p'; }

echo "== baseline (no profiler)"
baseline_wall=$(run_workload)
echo "   workload wall: ${baseline_wall}s"

run() {
  local name=$1; shift
  echo "== $name"
  bpf_snapshot > "$out/$name.bpf0"
  run_workload > "$out/$name.wall" &
  local wpid=$!
  sleep 1
  /usr/bin/time -f "%U %S %M" -o "$out/$name.time" "$@" > "$out/$name.out" 2> "$out/$name.err" &
  local tpid=$!
  sleep "$DUR"
  bpf_snapshot > "$out/$name.bpf1"
  local t_stop; t_stop=$(now)
  pkill -INT -P "$tpid" || true
  # bpftrace sometimes takes the SIGINT on a thread that is not the one blocked in epoll_wait and
  # then never wakes up: repeat it every 10 s, timing the flush from the signal that worked.
  local waited=0
  while kill -0 "$tpid" 2>/dev/null; do
    sleep 0.05; waited=$(( waited + 1 ))
    if [ $(( waited % 200 )) = 0 ]; then
      echo "   (no exit 10 s after SIGINT: sending it again)"; t_stop=$(now); pkill -INT -P "$tpid" || true
    fi
  done
  wait "$tpid" || true
  local t_done; t_done=$(now)
  if [ "$name" = perf ]; then # the pipeline's second half: perf script + folding
    /usr/bin/time -f "%U %S %M" -o "$out/perf-script.time" \
      sh -c "perf script -i '$out/perf.data' 2>/dev/null | awk -f bench/collapse-perf.awk > '$out/perf.folded'"
    t_done=$(now)
  fi
  wait "$wpid"
  read -r u s m < <(tail -n 1 "$out/$name.time") # GNU time may first note the SIGINT
  if [ "$name" = perf ]; then read -r u2 s2 m2 < <(tail -n 1 "$out/perf-script.time"); u=$(echo "$u + $u2" | bc); s=$(echo "$s + $s2" | bc); [ "$m2" -gt "$m" ] && m=$m2; fi
  read -r ns cnt < <(bpf_delta "$out/$name.bpf0" "$out/$name.bpf1")
  BPFNS[$name]=$ns; BPFCNT[$name]=$cnt
  CPU[$name]=$(echo "scale=3; $u + $s + $ns / 1000000000" | bc)
  RSS[$name]=$(echo "scale=1; $m / 1024" | bc)
  FLUSH[$name]=$(echo "scale=3; $t_done - $t_stop" | bc)
  SLOW[$name]=$(echo "scale=4; $(cat "$out/$name.wall") / $baseline_wall" | bc)
  echo "   cpu ${CPU[$name]}s  rss ${RSS[$name]}MB  flush ${FLUSH[$name]}s  slowdown ${SLOW[$name]}  bpf ${ns}ns/${cnt}"
}

# gprofctl keeps the parsed kernel symbol table for the rest of the boot (/run/gprof/cache): the
# first run after a boot reads /proc/kallsyms, later ones map the table. Both are measured.
rm -f /run/gprof/cache/kallsyms
run gprof-first "$GPROFCTL" record -q -F "$FREQ" -o "$out/gprof-first.html"
run gprof "$GPROFCTL" record -q -F "$FREQ" -o "$out/gprof.html"
run bpftrace bpftrace -e "profile:hz:$FREQ { @[kstack, ustack, comm] = count(); }" -o "$out/bpftrace.txt"
run perf perf record -F "$FREQ" -a -g -o "$out/perf.data"

per_sample() { [ "${BPFCNT[$1]}" -gt 0 ] && echo "scale=2; ${BPFNS[$1]} / ${BPFCNT[$1]}" | bc || echo "-"; }
ratio() { echo "scale=1; $1 / $2" | bc; }
{
  echo "| profiler | CPU s (user+sys+BPF) | vs gprof | peak RSS MB | workload slowdown | BPF ns/sample | sampling end → output s |"
  echo "|---|---|---|---|---|---|---|"
  for n in gprof gprof-first bpftrace perf; do
    echo "| $n | ${CPU[$n]} | $(ratio "${CPU[$n]}" "${CPU[gprof]}")× | ${RSS[$n]} | ${SLOW[$n]} | $(per_sample $n) | ${FLUSH[$n]} |"
  done
} | tee "$out/table.md"
echo "results in $out"
