#!/usr/bin/env bash
# Time of the BPF table walk alone (uw_begin to uw_end, bpf_ktime_get_ns inside the program) of
# two or more gprofctl builds made with -DGPROF_BPF_WALK_TIMING=ON, compared in interleaved
# rounds (this VM's noise drifts over minutes). Each run: tests/workloads/wl_uw_deep (no frame
# pointers, ~24 frames) with one process per CPU, `gprofctl record --pid` on those processes,
# and the program's .bss counters (uw_walk_ns, uw_walks, uw_walk_frames) read just before the
# record ends.
# Usage (root): bench/uw_walk_ns.sh [-r ROUNDS=5] [-F HZ=99] [-d SECONDS=8] GPROFCTL...
#   env: DEPTH (recursion levels, default 18)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=5 FREQ=99 SECS=8
usage="usage: $0 [-r ROUNDS] [-F HZ] [-d SECONDS] GPROFCTL..."
while getopts r:F:d: opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;;
    F) FREQ=$OPTARG ;;
    d) SECS=$OPTARG ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
for b in "$@"; do [ -x "$b" ] || { echo "not executable: $b" >&2; exit 1; }; done
for t in bpftool jq cc; do
  command -v "$t" >/dev/null || { echo "missing $t: run scripts/install-deps.sh" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
W=tests/workloads
cc -O2 -g -fomit-frame-pointer -fPIC -shared -I$W $W/wl_uw_leaf.c -o "$tmp/libwluwleaf.so"
cc -O2 -g -fomit-frame-pointer -I$W $W/wl_uw_deep.c -o "$tmp/wl_uw_deep" -L"$tmp" -lwluwleaf \
  -Wl,-rpath,"$tmp"

# The walk counters of the gprofctl process PID: "ns walks frames" from its .bss map.
walk_counters() {
  local ids id
  ids=$(awk '/^map_id:/ { print $2 }' /proc/"$1"/fdinfo/* 2>/dev/null | sort -un | jq -sc .)
  id=$(bpftool -j map show | jq -r --argjson ids "$ids" \
    '[.[] | select((.id as $i | $ids | index($i)) and ((.name // "") | endswith(".bss")))][0].id // empty')
  [ -n "$id" ] || { echo "0 0 0 0 0 0"; return; }
  bpftool -j map dump id "$id" | jq -r '[.. | objects | select(has(".bss"))][0][".bss"] | add
    | "\(.uw_walk_ns) \(.uw_walks) \(.uw_walk_frames) \(.uw_walk_reads // 0) \(.uw_walk_read_ns // 0) \(.uw_walk_entry_ns // 0)"'
}

declare -A NS WALKS FRAMES
for b in "$@"; do NS[$b]=0; WALKS[$b]=0; FRAMES[$b]=0; done
for r in $(seq "$ROUNDS"); do
  for b in "$@"; do
    "$tmp/wl_uw_deep" $((SECS + 6)) "$(nproc)" "${DEPTH:-18}" > /dev/null &
    wl=$!
    sleep 1
    pids=()
    for p in $(pgrep -P "$wl"); do pids+=(--pid "$p"); done
    "$b" record -q -F "$FREQ" -d $((SECS + 2)) "${pids[@]}" -o "$tmp/out.col" > /dev/null 2>&1 &
    gp=$!
    sleep "$SECS"
    read -r ns walks frames reads read_ns entry_ns < <(walk_counters "$gp")
    wait "$gp" || true
    pkill -TERM -P "$wl" 2> /dev/null || true # wl_uw_deep's processes, by parent pid
    kill "$wl" 2> /dev/null || true
    wait "$wl" 2> /dev/null || true
    printf 'round %d  %-40s %6d ns/walk  %5.1f frames  %4.1f reads  %6d ns in reads  %5d ns to the loop  (%d walks)\n' \
      "$r" "$b" $((walks ? ns / walks : 0)) "$(echo "scale=1; $frames / ($walks + ($walks == 0))" | bc)" \
      "$(echo "scale=1; $reads / ($walks + ($walks == 0))" | bc)" $((walks ? read_ns / walks : 0)) \
      $((walks ? entry_ns / walks : 0)) "$walks"
    NS[$b]=$((NS[$b] + ns))
    WALKS[$b]=$((WALKS[$b] + walks))
    FRAMES[$b]=$((FRAMES[$b] + frames))
  done
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| build | ns/walk (all rounds) | frames/walk | walks |"
echo "|---|---|---|---|"
for b in "$@"; do
  w=${WALKS[$b]}
  echo "| $b | $((w ? NS[$b] / w : 0)) | $(echo "scale=1; ${FRAMES[$b]} / ($w + ($w == 0))" | bc) | $w |"
done
