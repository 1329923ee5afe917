#!/usr/bin/env bash
# BPF run time per sample of two or more gprofctl builds, compared on the same workload in
# interleaved rounds (this VM's noise drifts over minutes, so each round runs every build back
# to back). Each run: a workload on both cores (`cpuwork`, or `cachethrash`, which leaves every
# sample cold and is steadier at 999 Hz), `gprofctl record -F HZ` host-wide, and the gp_sample
# program's run_time_ns / run_cnt (kernel.bpf_stats_enabled) read just before it ends.
# Besides gprofctl builds, the floor and a peer run in the same rounds, on the same kind of perf
# event (cpu-clock, every CPU): `floor-empty` (a bpftrace program that does nothing: what any
# program costs per sample on this host), `floor-kstack` (only the kernel stack) and `bpftrace`
# (`@[kstack, ustack, comm] = count()`, a frame-pointer walk); their run time is that of the
# perf_event programs the bpftrace process holds.
# Usage (root): bench/bpf_sample_cost.sh [-r ROUNDS=5] [-F HZ=99] [-d SECONDS=10]
#                 [-w cpuwork|cachethrash|uwdeep] GPROFCTL|floor-empty|floor-kstack|bpftrace...
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=5 FREQ=99 SECS=10 WORKLOAD=cpuwork
usage="usage: $0 [-r ROUNDS] [-F HZ] [-d SECONDS] [-w cpuwork|cachethrash|uwdeep] GPROFCTL|floor-empty|floor-kstack|bpftrace..."
while getopts r:F:d:w: opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;;
    F) FREQ=$OPTARG ;;
    d) SECS=$OPTARG ;;
    w) WORKLOAD=$OPTARG ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
case $WORKLOAD in cpuwork | cachethrash | uwdeep) ;; *) echo "$usage" >&2; exit 2 ;; esac
# The bpftrace program of a peer entry, or nothing for a gprofctl build.
peer_prog() {
  case $1 in
    floor-empty) echo "profile:hz:$FREQ { }" ;;
    floor-kstack) echo "profile:hz:$FREQ { @[kstack] = count(); }" ;;
    bpftrace) echo "profile:hz:$FREQ { @[kstack, ustack, comm] = count(); }" ;;
  esac
}
for b in "$@"; do
  [ -n "$(peer_prog "$b")" ] || [ -x "$b" ] || { echo "not executable: $b" >&2; exit 1; }
  [ -z "$(peer_prog "$b")" ] || command -v bpftrace > /dev/null || { echo "missing bpftrace" >&2; exit 1; }
done
. bench/lib.sh
for t in bpftool jq; do
  command -v "$t" >/dev/null || { echo "missing $t: run scripts/install-deps.sh" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$tmp"' EXIT
if [ "$WORKLOAD" = uwdeep ]; then # as bench/unwind.sh builds it: no frame pointers, ~24 frames
  W=tests/workloads
  cc -O2 -g -fomit-frame-pointer -fPIC -shared -I$W $W/wl_uw_leaf.c -o "$tmp/libwluwleaf.so"
  cc -O2 -g -fomit-frame-pointer -I$W $W/wl_uw_deep.c -o "$tmp/wl_uw_deep" -L"$tmp" -lwluwleaf \
    -Wl,-rpath,"$tmp"
else
  cc -O2 -g -fno-omit-frame-pointer -pthread "bench/$WORKLOAD.c" -o "$tmp/$WORKLOAD"
fi
sysctl -qw kernel.bpf_stats_enabled=1

declare -A NS CNT
for b in "$@"; do NS[$b]=0; CNT[$b]=0; done
for r in $(seq "$ROUNDS"); do
  for b in "$@"; do
    if [ "$WORKLOAD" = cpuwork ]; then
      "$tmp/cpuwork" 2 $((SECS + 6)) > /dev/null &
    elif [ "$WORKLOAD" = uwdeep ]; then
      "$tmp/wl_uw_deep" $((SECS + 6)) "$(nproc)" "${DEPTH:-18}" > /dev/null &
    else
      "$tmp/cachethrash" $((SECS + 6)) &
    fi
    wl=$!
    sleep 1.5 # cachethrash touches its 512 MiB first
    prog=$(peer_prog "$b")
    if [ -n "$prog" ]; then
      bpftrace -e "$prog interval:s:$((SECS + 2)) { exit(); }" -o "$tmp/out.txt" > /dev/null 2>&1 &
      gp=$!
      sleep "$SECS"
      bpf_snapshot > "$tmp/snap.json"
      read -r ns cnt < <(bpf_owned "$tmp/snap.json" "$(bpf_owned_ids "$gp")")
    else
      "$b" record -q -F "$FREQ" -d $((SECS + 2)) -o "$tmp/out.col" > /dev/null 2>&1 &
      gp=$!
      sleep "$SECS"
      # gp_sample of this gprofctl (other engineers' profilers may run on this host); its
      # run time includes the walker it tail-calls.
      bpftool -j prog show > "$tmp/snap.json"
      read -r ns cnt < <(jq -r --argjson ids "$(bpf_owned_ids "$gp")" \
        '[.[] | select(.name == "gp_sample" and (.id as $i | $ids | index($i)))][0]
         | "\(.run_time_ns // 0) \(.run_cnt // 0)"' "$tmp/snap.json")
    fi
    wait "$gp" || true
    pkill -TERM -P "$wl" 2> /dev/null || true # wl_uw_deep's processes, by parent pid
    kill "$wl" 2> /dev/null || true
    wait "$wl" 2> /dev/null || true
    printf 'round %d  %-40s %6d ns/sample  (%d samples)\n' "$r" "$b" $((cnt ? ns / cnt : 0)) "$cnt"
    NS[$b]=$((NS[$b] + ns))
    CNT[$b]=$((CNT[$b] + cnt))
  done
done
floor=
for b in "$@"; do [ "$b" != floor-empty ] || floor=$((CNT[$b] ? NS[$b] / CNT[$b] : 0)); done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| build | ns/sample (all rounds) | above floor-empty | samples |"
echo "|---|---|---|---|"
for b in "$@"; do
  per=$((CNT[$b] ? NS[$b] / CNT[$b] : 0))
  above=–
  [ -z "$floor" ] || above=$((per - floor))
  echo "| $b | $per | $above | ${CNT[$b]} |"
done
