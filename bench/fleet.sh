#!/usr/bin/env bash
# bench/fleet.sh — the fleet simulation's search (issue 16): the largest number of agents one
# coordinator (embedded stores: SQLite + files, a fresh state dir per step) serves with no error
# and p99 <= 100 ms, each agent sending a heartbeat every 30 s and a 60 s profile a minute
# (bench/fleet.c). Doubles N from START until a step fails, then bisects STEPS times.
# Usage: bench/fleet.sh [START=1000] [SECONDS=60] [SPEEDUP=1] [STEPS=3]
#   BUILD=DIR  the build with build/coordinator/gprof-coordinator (default build)
# With SPEEDUP F every agent's periods are divided by F: N agents at F load the coordinator as
# N*F would in real time (the "equiv" column; the search is over that figure).
# Prints a Markdown table, one row a step, and the result.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
start=${1:-1000}
secs=${2:-60}
speedup=${3:-1}
steps=${4:-3}
build=${BUILD:-$src/build}
coord=$build/coordinator/gprof-coordinator
[ -x "$coord" ] || { echo "fleet.sh: $coord not built" >&2; exit 2; }
work=$(mktemp -d /tmp/gprof-fleet.XXXXXX)
cc -O2 -Wall -o "$work/fleet" "$src/bench/fleet.c" "$src/bench/loadgen.c" -lcurl -lz
cpid=
trap '[ -n "$cpid" ] && kill -9 "$cpid" 2>/dev/null; rm -rf "$work"' EXIT

# step EQUIV: one run at EQUIV agent-equivalents; prints the table row, returns 1 when it fails
step() {
    local equiv=$1 agents port out
    agents=$(awk -v e="$equiv" -v f="$speedup" 'BEGIN { a = int(e / f + 0.5); print a < 1 ? 1 : a }')
    port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
    rm -rf "$work/state"
    "$coord" --listen "127.0.0.1:$port" --state-dir "$work/state" --max-connections-per-ip 0 \
        >"$work/coord.log" 2>&1 &
    cpid=$!
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$port/api/v1/health_check" >/dev/null 2>&1 && break
        sleep 0.1
    done
    out=$("$work/fleet" --url "http://127.0.0.1:$port" --agents "$agents" --speedup "$speedup" \
        --duration "$secs" 2>"$work/fleet.err" || true)
    kill -TERM "$cpid"
    wait "$cpid" || true
    cpid=
    kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$out"; }
    local err p99 verdict=pass
    err=$(kv errors)
    p99=$(kv p99_ms)
    if [ -z "$err" ] || [ "$err" != 0 ] || awk -v p="$p99" 'BEGIN { exit !(p > 100) }'; then
        verdict=FAIL
    fi
    echo "| $equiv | $agents | $speedup | $(kv heartbeats) | $(kv uploads) | ${err:-?} | $(kv hb_p99_ms) | $(kv up_p99_ms) | ${p99:-?} | $(kv max_ms) | $verdict |"
    [ -s "$work/fleet.err" ] && sed 's/^/    /' "$work/fleet.err" | head -2 >&2
    [ "$verdict" = pass ]
}

echo "| agents (equiv) | simulated | speedup | heartbeats | uploads | errors | hb p99 ms | upload p99 ms | p99 ms | max ms | ≤ 100 ms, no error |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
good=0
bad=0
n=$start
while :; do
    if step "$n"; then good=$n; n=$((n * 2)); else bad=$n; break; fi
    [ "$n" -le 1000000 ] || break
done
if [ "$bad" != 0 ]; then
    for _ in $(seq 1 "$steps"); do
        [ $((bad - good)) -gt $((good / 10 + 1)) ] || break
        mid=$(((good + bad) / 2))
        if step "$mid"; then good=$mid; else bad=$mid; fi
    done
fi
echo
echo "fleet.sh: largest fleet with no error and p99 <= 100 ms: $good agents (first failure at $bad);" \
    "$secs s a step, speedup $speedup, load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
