#!/usr/bin/env bash
# Whole stacks without frame pointers, side by side in one run (issue 13): a no-FP workload with
# ~20-frame stacks on every core (tests/workloads/wl_uw_deep.c: one process per CPU, 18 levels
# of recursion in -O2 -fomit-frame-pointer code down to a leaf in a no-FP shared library),
# profiled host-wide at 99 Hz by (a) `perf record -a --call-graph dwarf` + `perf script` +
# folding (bench/collapse-perf.awk), the reference, (b) `gprofctl record`, (c) bpftrace's
# `ustack` (frame pointers only). Reports profiler CPU (user + sys of its process tree + the
# in-kernel run time of its BPF programs), BPF ns per sample, and how whole and how like perf's
# the workload's stacks are (bench/stack_agree.py), plus gprof's `gprof.unwind` header if any.
# Two floor rows in the same run: bpftrace programs on the same kind of perf event (cpu-clock,
# 99 Hz, every CPU) that do nothing (`floor-empty`) or take only the kernel stack
# (`floor-kstack`), so a profiler's BPF ns per sample reads as what any program costs on this
# host (cold caches and TLB, run-time accounting) plus what its walk adds above that floor.
# Usage (root): bench/unwind.sh [--quick] [SECONDS (default 60; --quick: 10)]
#   env: GPROF_BUILD_DIR (default build), DEPTH (recursion levels, default 18),
#        BASE_GPROFCTL (another gprofctl, e.g. main's build: a `gprof-base` row in the same run,
#        right after gprof's), SKIP_BPFTRACE=1 (no bpftrace and floor rows: on a busy host
#        bpftrace's exit can take many minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=60
if [ "${1:-}" = --quick ]; then DUR=10; shift; fi
DUR=${1:-$DUR}
FREQ=99
DEPTH=${DEPTH:-18}
BUILD=${GPROF_BUILD_DIR:-build}
GPROFCTL=$BUILD/cli/gprofctl
out=bench/results/unwind-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
[ -x "$GPROFCTL" ] || { echo "build first: cmake -S . -B build && make -C build" >&2; exit 1; }
for t in bpftrace perf bpftool jq bc python3 cc /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "missing $t: run scripts/install-deps.sh" >&2; exit 1; }
done
. bench/lib.sh

# The workload, built here as the tests build it (-O2 -fomit-frame-pointer, leaf in a library).
W=tests/workloads
cc -O2 -g -fomit-frame-pointer -fPIC -shared -I$W $W/wl_uw_leaf.c -o "$out/libwluwleaf.so"
cc -O2 -g -fomit-frame-pointer -I$W $W/wl_uw_deep.c -o "$out/wl_uw_deep" -L"$out" -lwluwleaf \
  -Wl,-rpath,"$(realpath "$out")"
NPROC=$(nproc)
LOAD0=$(cut -d" " -f1-3 /proc/loadavg)
"$out/wl_uw_deep" 0 "$NPROC" "$DEPTH" > "$out/workload.out" &
WPID=$!
sysctl -qw kernel.bpf_stats_enabled=1
trap 'sysctl -qw kernel.bpf_stats_enabled=0; pkill -TERM -P $WPID 2>/dev/null || true; kill $WPID 2>/dev/null || true' EXIT
sleep 1

# run NAME -- profiler command...: the profiler stops by itself after DUR + 1 s; its BPF programs
# (those its processes hold open: other engineers' profilers on this host are not counted) are
# read 1 s before that, since they are gone once it exits, and scaled to the whole run.
declare -A CPU BPFNS BPFCNT BPFCPU
run() {
  local name=$1; shift
  echo "== $name"
  sysctl -qw kernel.bpf_stats_enabled=1 # again: another bench on this host may have reset it
  /usr/bin/time -f "%U %S %M" -o "$out/$name.time" "$@" > "$out/$name.out" 2> "$out/$name.err" &
  local tpid=$!
  sleep "$DUR"
  bpf_snapshot > "$out/$name.bpf1"
  local ids; ids=$(bpf_owned_ids "$tpid")
  echo "$ids" > "$out/$name.bpf-ids"
  [ "$(sysctl -n kernel.bpf_stats_enabled)" = 1 ] ||
    echo "   WARNING: kernel.bpf_stats_enabled was reset during the run: BPF figures are low" | tee -a "$out/warnings"
  wait "$tpid" || { tail -3 "$out/$name.err" >&2; echo "$name failed" >&2; exit 1; }
  local u s m u2=0 s2=0 m2
  read -r u s m < <(tail -n 1 "$out/$name.time")
  if [ "$name" = perf ]; then # the pipeline's second half: perf script + folding
    /usr/bin/time -f "%U %S %M" -o "$out/perf-script.time" \
      sh -c "perf script --no-inline -i '$out/perf.data' 2>/dev/null | awk -f bench/collapse-perf.awk > '$out/perf.folded'"
    read -r u2 s2 m2 < <(tail -n 1 "$out/perf-script.time")
  fi
  local ns cnt
  read -r ns cnt < <(bpf_owned "$out/$name.bpf1" "$ids")
  BPFNS[$name]=$ns; BPFCNT[$name]=$cnt
  BPFCPU[$name]=$(echo "scale=3; $ns * ($DUR + 1) / $DUR / 1000000000" | bc)
  CPU[$name]=$(printf "%.3f" "$(echo "scale=3; $u + $s + $u2 + $s2 + ${BPFCPU[$name]}" | bc)")
  echo "   cpu ${CPU[$name]}s (user+sys $u+$s, second stage $u2+$s2, BPF ${BPFCPU[$name]})  bpf ${ns}ns/${cnt}"
}

T=$((DUR + 1))
run perf perf record -q -F "$FREQ" -a --call-graph dwarf -o "$out/perf.data" -- sleep "$T"
run gprof "$GPROFCTL" record -q -F "$FREQ" -d "$T" -o "$out/gprof.col"
NAMES="gprof perf"
if [ -n "${BASE_GPROFCTL:-}" ]; then
  run gprof-base "$BASE_GPROFCTL" record -q -F "$FREQ" -d "$T" -o "$out/gprof-base.col"
  NAMES="gprof gprof-base perf"
fi
FLOORS="floor-empty floor-kstack"
if [ "${SKIP_BPFTRACE:-0}" = 1 ]; then
  FLOORS=""
  BPFCNT[floor-empty]=0
else
  NAMES="$NAMES bpftrace"
  # The floors before bpftrace's ustack run: on a busy host its exit (symbolizing every
  # process's stacks) can take many minutes.
  run floor-empty bpftrace -e "profile:hz:$FREQ { } interval:s:$T { exit(); }" -o "$out/floor-empty.txt"
  run floor-kstack bpftrace -e "profile:hz:$FREQ { @[kstack] = count(); } interval:s:$T { exit(); }" \
    -o "$out/floor-kstack.txt"
  run bpftrace bpftrace -e "profile:hz:$FREQ { @[kstack, ustack, comm] = count(); } interval:s:$T { exit(); }" \
    -o "$out/bpftrace.txt"
fi

agree_in=(folded:"$out/perf.folded" gprof:"$out/gprof.col")
[ -n "${BASE_GPROFCTL:-}" ] && agree_in+=(gprof:"$out/gprof-base.col")
[ "${SKIP_BPFTRACE:-0}" = 1 ] || agree_in+=(bpftrace:"$out/bpftrace.txt")
python3 bench/stack_agree.py wl_uw_deep "${agree_in[@]}" > "$out/agree.txt"
declare -A SAMPLES MAIN DEPTHM OVERLAP
while read -r file n reach depth overlap; do
  name=$(basename "$file"); name=${name%%.*}
  SAMPLES[$name]=$n; MAIN[$name]=$reach; DEPTHM[$name]=$depth; OVERLAP[$name]=$overlap
done < "$out/agree.txt"

ns_sample() { [ "${BPFCNT[$1]}" -gt 0 ] && echo "${BPFNS[$1]} / ${BPFCNT[$1]}" | bc || echo 0; }
per_sample() { [ "${BPFCNT[$1]}" -gt 0 ] && printf "%'.0f" "$(ns_sample "$1")" || echo "–"; }
above_floor() { # NAME -> BPF ns per sample above floor-empty's
  [ "${BPFCNT[$1]}" -gt 0 ] && [ "${BPFCNT[floor-empty]}" -gt 0 ] &&
    printf "%'.0f" "$(($(ns_sample "$1") - $(ns_sample floor-empty)))" || echo "–"
}
ratio() { printf "%.3f" "$(echo "scale=4; $1 / $2" | bc)"; }
{
  echo "workload: $NPROC × wl_uw_deep (depth $DEPTH, no frame pointers), host-wide, $FREQ Hz, $DUR s; load average before: $LOAD0, after: $(cut -d" " -f1-3 /proc/loadavg)"
  echo
  echo "| profiler | CPU s (user+sys+BPF) | vs perf | BPF ns/sample | above floor-empty | workload samples | reach main % | mean user depth | same stacks as perf % |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for n in $NAMES; do
    echo "| $n | ${CPU[$n]} | $(ratio "${CPU[$n]}" "${CPU[perf]}")× | $(per_sample $n) | $(above_floor $n) | ${SAMPLES[$n]} | ${MAIN[$n]} | ${DEPTHM[$n]} | ${OVERLAP[$n]} |"
  done
  for n in $FLOORS; do # their CPU is mostly bpftrace compiling the program
    echo "| $n | ${CPU[$n]} | $(ratio "${CPU[$n]}" "${CPU[perf]}")× | $(per_sample $n) | $(above_floor $n) | – | – | – | – |"
  done
  hdr=$(head -n 1 "$out/gprof.col" | sed 's/^# //' | jq -c '.gprof.unwind // empty' 2>/dev/null || true)
  echo
  echo "gprof.unwind header: ${hdr:-(none: this gprof walks frame pointers only)}"
} | tee "$out/table.md"
echo "results in $out"
