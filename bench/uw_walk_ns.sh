#!/usr/bin/env bash
# Time of the BPF table walk alone (uw_begin to uw_end, bpf_ktime_get_ns inside the program) of
# two or more gprofctl builds made with -DGPROF_BPF_WALK_TIMING=ON, compared in interleaved
# rounds (this VM's noise drifts over minutes). Each run: tests/workloads/wl_uw_deep (no frame
# pointers, ~24 frames) with one process per CPU, `gprofctl record --pid` on those processes,
# and the program's .bss counters (uw_walk_ns, uw_walks, uw_walk_frames) read just before the
# record ends.
# -a: host-wide instead of --pid (every process with tables is walked, and on a busy host their
# tables and mappings change all the time: what the rule cache's invalidation costs shows here).
# "lookups" are frames whose rule was not in the per-CPU rule cache (a table lookup).
# Usage (root): bench/uw_walk_ns.sh [-a] [-r ROUNDS=5] [-F HZ=99] [-d SECONDS=8] GPROFCTL...
#   env: DEPTH (recursion levels, default 18)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=5 FREQ=99 SECS=8 HOST=0
usage="usage: $0 [-a] [-r ROUNDS] [-F HZ] [-d SECONDS] GPROFCTL..."
while getopts ar:F:d: opt; do
  case $opt in
    a) HOST=1 ;;
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
  # cat, not awk on the files: an fd closed meanwhile (host-wide, files come and go) would end awk
  ids=$(cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^map_id:/ { print $2 }' | sort -un | jq -sc .) || true
  # bpftool fails when a map goes while it lists them (host-wide, other programs come and go)
  for _ in 1 2 3 4 5; do
    id=$(bpftool -j map show 2>/dev/null | jq -r --argjson ids "$ids" \
      '[.[] | select((.id as $i | $ids | index($i)) and ((.name // "") | endswith(".bss")))][0].id // empty' || true)
    [ -z "$id" ] || break
    sleep 0.1
  done
  [ -n "$id" ] || { echo "0 0 0 0 0 0 0"; return; }
  local out
  out=$(bpftool -j map dump id "$id" 2>/dev/null | jq -r '[.. | objects | select(has(".bss"))][0][".bss"] | add
    | "\(.uw_walk_ns) \(.uw_walks) \(.uw_walk_frames) \(.uw_walk_reads // 0) \(.uw_walk_read_ns // 0) \(.uw_walk_entry_ns // 0) \(.uw_walk_lookups // -1)"' 2>/dev/null || true)
  echo "${out:-0 0 0 0 0 0 0}"
}

declare -A NS WALKS FRAMES LOOKUPS ROUNDNS
for b in "$@"; do NS[$b]=0; WALKS[$b]=0; FRAMES[$b]=0; LOOKUPS[$b]=0; done
for r in $(seq "$ROUNDS"); do
  for b in "$@"; do
    "$tmp/wl_uw_deep" $((SECS + 6)) "$(nproc)" "${DEPTH:-18}" > /dev/null &
    wl=$!
    sleep 1
    pids=()
    [ "$HOST" = 1 ] || for p in $(pgrep -P "$wl"); do pids+=(--pid "$p"); done
    "$b" record -q -F "$FREQ" -d $((SECS + 2)) ${pids[@]+"${pids[@]}"} -o "$tmp/out.col" > /dev/null 2>&1 &
    gp=$!
    sleep "$SECS"
    read -r ns walks frames reads read_ns entry_ns lookups < <(walk_counters "$gp")
    wait "$gp" || true
    pkill -TERM -P "$wl" 2> /dev/null || true # wl_uw_deep's processes, by parent pid
    kill "$wl" 2> /dev/null || true
    wait "$wl" 2> /dev/null || true
    lk=$([ "$lookups" -ge 0 ] && echo "scale=1; $lookups / ($walks + ($walks == 0))" | bc || echo "-")
    printf 'round %d  %-40s %6d ns/walk  %5.1f frames  %4s lookups  %4.1f reads  %6d ns in reads  %5d ns to the loop  (%d walks)\n' \
      "$r" "$b" $((walks ? ns / walks : 0)) "$(echo "scale=1; $frames / ($walks + ($walks == 0))" | bc)" \
      "$lk" "$(echo "scale=1; $reads / ($walks + ($walks == 0))" | bc)" $((walks ? read_ns / walks : 0)) \
      $((walks ? entry_ns / walks : 0)) "$walks"
    NS[$b]=$((NS[$b] + ns))
    WALKS[$b]=$((WALKS[$b] + walks))
    FRAMES[$b]=$((FRAMES[$b] + frames))
    LOOKUPS[$b]=$((LOOKUPS[$b] + (lookups > 0 ? lookups : 0)))
    ROUNDNS[$b]="${ROUNDNS[$b]:-} $((walks ? ns / walks : 0))"
  done
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| build | ns/walk (all rounds) | median of rounds | frames/walk | lookups/walk | walks |"
echo "|---|---|---|---|---|---|"
for b in "$@"; do
  w=${WALKS[$b]}
  med=$(echo ${ROUNDNS[$b]} | tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }')
  echo "| $b | $((w ? NS[$b] / w : 0)) | $med | $(echo "scale=1; ${FRAMES[$b]} / ($w + ($w == 0))" | bc) | $(echo "scale=1; ${LOOKUPS[$b]} / ($w + ($w == 0))" | bc) | $w |"
done
