#!/usr/bin/env bash
# Agent overhead (issue 4): gprof-agent profiling the whole host continuously (no coordinator,
# results kept locally) while both cores are busy, at 11 Hz and at 99 Hz. Reports the agent's
# CPU as % of one core — user + system time of the process plus the in-kernel time of its BPF
# programs (kernel.bpf_stats_enabled) — and its RSS sampled over the run, as a markdown table.
# A third row measures the daemon alone (--no-continuous) for a quarter of the time. The agent
# profiles the whole host, so every process started on the machine meanwhile (builds, tests)
# costs it symbolization: run it on an otherwise quiet host.
# Usage (root): bench/agent_overhead.sh [SECONDS=600] [SESSION_SECONDS=60]
#   env: GPROF_BUILD_DIR (default build), INTERVAL (RSS/CPU sample period, default 30 s),
#        FREQS (rows to run, default "11 99 idle"), OUT (result directory)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-600}
SESSION=${2:-60}
INTERVAL=${INTERVAL:-30}
BUILD=${GPROF_BUILD_DIR:-build}
AGENT=$BUILD/agent/gprof-agent
BURN=${BURN:-$BUILD/tests/workloads/burn} # the load; any build of it will do
[ -x "$AGENT" ] && [ -x "$BURN" ] || { echo "build first: cmake -S . -B build && make -C build" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root (BPF)" >&2; exit 1; }
for t in bpftool jq bc; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }; done
out=${OUT:-bench/results/agent-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
HZ_TICK=$(getconf CLK_TCK)
NCPU=$(nproc)

sysctl -qw kernel.bpf_stats_enabled=1
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sysctl -qw kernel.bpf_stats_enabled=0' EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }             # utime + stime of the process
forks() { awk '/^processes/ {print $2}' /proc/stat; } # processes created on the host so far
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
bpf_ids() { bpftool prog show -j 2>/dev/null | jq -c '[.[] | select(.type == "perf_event") | .id]'; }
bpf_ns() { # run_time_ns of the perf_event programs loaded since the baseline $1 (the agent's)
  bpftool prog show -j 2>/dev/null |
    jq --argjson base "$1" '[.[] | select(.type == "perf_event" and ((.id as $i | $base | index($i)) == null))
                             | .run_time_ns // 0] | add // 0'
}

# the load: one burn thread per CPU, for the whole run
"$BURN" -t "$NCPU" -d $(( 3 * DUR + 60 )) >/dev/null 2>&1 &
PIDS+=($!)
sleep 2

declare -A RESULT
for FREQ in ${FREQS:-11 99 idle}; do
  state=$out/state-$FREQ
  base=$(bpf_ids)
  mode=(-F "$FREQ")
  [ "$FREQ" = idle ] && mode=(--no-continuous) # the daemon alone: main loop, control socket
  "$AGENT" --state-dir "$state" --control-socket "$out/agent-$FREQ.sock" "${mode[@]}" -d "$SESSION" \
    --keep-results 5 >"$out/agent-$FREQ.log" 2>&1 &
  apid=$!
  PIDS+=($apid)
  sleep 5 # startup (BPF load, first symbolization) is not steady state
  t0=$(date +%s.%N); k0=$(ticks "$apid"); b0=$(bpf_ns "$base"); f0=$(forks)
  echo "t_s,cpu_pct_user_sys,cpu_pct_bpf,rss_mb" >"$out/agent-$FREQ.csv"
  rss_first=$(rss_kb "$apid"); rss_max=$rss_first; rss_last=$rss_first
  tp=$t0; kp=$k0; bp=$b0
  elapsed=0
  dur=$DUR
  [ "$FREQ" = idle ] && dur=$(( DUR / 4 > INTERVAL ? DUR / 4 : INTERVAL ))
  while [ "$elapsed" -lt "$dur" ]; do
    sleep "$INTERVAL"
    elapsed=$(( elapsed + INTERVAL ))
    t=$(date +%s.%N); k=$(ticks "$apid"); b=$(bpf_ns "$base"); r=$(rss_kb "$apid")
    dt=$(echo "$t - $tp" | bc -l)
    cu=$(echo "scale=3; 100 * ($k - $kp) / $HZ_TICK / $dt" | bc -l)
    cb=$(echo "scale=3; 100 * ($b - $bp) / 1000000000 / $dt" | bc -l)
    echo "$elapsed,$cu,$cb,$(echo "scale=1; $r / 1024" | bc)" >>"$out/agent-$FREQ.csv"
    [ "$r" -gt "$rss_max" ] && rss_max=$r
    rss_last=$r; tp=$t; kp=$k; bp=$b
  done
  t1=$(date +%s.%N); k1=$(ticks "$apid"); b1=$(bpf_ns "$base"); f1=$(forks)
  kill -TERM "$apid"; wait "$apid" || true
  dt=$(echo "$t1 - $t0" | bc -l)
  user_sys=$(echo "scale=3; 100 * ($k1 - $k0) / $HZ_TICK / $dt" | bc -l)
  bpf=$(echo "scale=3; 100 * ($b1 - $b0) / 1000000000 / $dt" | bc -l)
  total=$(echo "scale=3; $user_sys + $bpf" | bc -l)
  label="$FREQ Hz"
  [ "$FREQ" = idle ] && label="daemon only (--no-continuous)"
  RESULT[$FREQ]="| $label | $(printf %.0f "$dt") s | $(printf %.2f "$user_sys") | $(printf %.2f "$bpf") | **$(printf %.2f "$total")** | $(echo "scale=1; $rss_first/1024" | bc) | $(echo "scale=1; $rss_last/1024" | bc) | $(echo "scale=1; $rss_max/1024" | bc) | $(echo "scale=0; 60 * ($f1 - $f0) / $dt" | bc -l) |"
  echo "${RESULT[$FREQ]}"
done

{
  echo "| agent | measured | user+sys % of a core | BPF in-kernel % | total % | RSS start MB | RSS end MB | RSS max MB | host processes started / min |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for FREQ in ${FREQS:-11 99 idle}; do echo "${RESULT[$FREQ]}"; done
} | tee "$out/table.md"
echo "per-interval samples: $out/agent-11.csv $out/agent-99.csv"
