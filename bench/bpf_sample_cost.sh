#!/usr/bin/env bash
# BPF run time per sample of two or more gprofctl builds, compared on the same workload in
# interleaved rounds (this VM's noise drifts over minutes, so each round runs every build back
# to back). Each run: a workload on both cores (`cpuwork`, or `cachethrash`, which leaves every
# sample cold and is steadier at 999 Hz), `gprofctl record -F HZ` host-wide, and the gp_sample
# program's run_time_ns / run_cnt (kernel.bpf_stats_enabled) read just before it ends.
# Usage (root): bench/bpf_sample_cost.sh [-r ROUNDS=5] [-F HZ=99] [-d SECONDS=10]
#                                        [-w cpuwork|cachethrash] GPROFCTL...
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=5 FREQ=99 SECS=10 WORKLOAD=cpuwork
usage="usage: $0 [-r ROUNDS] [-F HZ] [-d SECONDS] [-w cpuwork|cachethrash] GPROFCTL..."
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
case $WORKLOAD in cpuwork | cachethrash) ;; *) echo "$usage" >&2; exit 2 ;; esac
for b in "$@"; do [ -x "$b" ] || { echo "not executable: $b" >&2; exit 1; }; done
for t in bpftool jq; do
  command -v "$t" >/dev/null || { echo "missing $t: run scripts/install-deps.sh" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$tmp"' EXIT
cc -O2 -g -fno-omit-frame-pointer -pthread "bench/$WORKLOAD.c" -o "$tmp/$WORKLOAD"
sysctl -qw kernel.bpf_stats_enabled=1

declare -A NS CNT
for b in "$@"; do NS[$b]=0; CNT[$b]=0; done
for r in $(seq "$ROUNDS"); do
  for b in "$@"; do
    if [ "$WORKLOAD" = cpuwork ]; then
      "$tmp/cpuwork" 2 $((SECS + 6)) > /dev/null &
    else
      "$tmp/cachethrash" $((SECS + 6)) &
    fi
    wl=$!
    sleep 1.5 # cachethrash touches its 512 MiB first
    "$b" record -q -F "$FREQ" -d $((SECS + 2)) -o "$tmp/out.col" > /dev/null 2>&1 &
    gp=$!
    sleep "$SECS"
    read -r ns cnt < <(bpftool -j prog show | jq -r \
      '[.[] | select(.name == "gp_sample")][0] | "\(.run_time_ns // 0) \(.run_cnt // 0)"')
    wait "$gp" || true
    kill "$wl" 2> /dev/null || true
    wait "$wl" 2> /dev/null || true
    printf 'round %d  %-40s %6d ns/sample  (%d samples)\n' "$r" "$b" $((cnt ? ns / cnt : 0)) "$cnt"
    NS[$b]=$((NS[$b] + ns))
    CNT[$b]=$((CNT[$b] + cnt))
  done
done
echo
echo "| build | ns/sample (all rounds) | samples |"
echo "|---|---|---|"
for b in "$@"; do
  echo "| $b | $((CNT[$b] ? NS[$b] / CNT[$b] : 0)) | ${CNT[$b]} |"
done
