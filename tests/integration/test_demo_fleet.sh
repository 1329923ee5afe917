#!/bin/bash
# test_demo_fleet.sh — scripts/demo-fleet.sh (issue 14): it starts PostgreSQL, ClickHouse and
# s3rver privately, two coordinators on them and an agent heartbeating to the second; both
# coordinators answer, a profiling request made through the first reaches the agent on the
# second and completes, and `demo-fleet.sh stop` stops every process it started.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"
skip() {
    if [ "${CI:-}" = true ]; then fail "$*"; fi
    echo "SKIP: $*"
    exit 77
}
[ "$(id -u)" -eq 0 ] || skip "the demo's agent needs root (BPF, perf_event)"
DEMO=$SRC/scripts/demo-fleet.sh
D=$WORK/demo
P=$(free_port)
stop_demo() { bash "$DEMO" stop --dir "$D" >>"$WORK/stop.log" 2>&1 || true; }
trap 'stop_demo; cleanup' EXIT

bash "$DEMO" --help | grep -q -- "--no-build" || fail "demo-fleet.sh --help lacks --no-build"
GPROF_DEMO_BUILD_DIR=$BUILD bash "$DEMO" --no-build --port "$P" --dir "$D" >"$WORK/demo.out" 2>&1 ||
    fail "demo-fleet.sh failed: $(tail -20 "$WORK/demo.out")"
A=http://127.0.0.1:$P B=http://127.0.0.1:$((P + 1))
grep -qF "$A" "$WORK/demo.out" && grep -qF "$B" "$WORK/demo.out" && grep -q "demo-fleet.sh stop" "$WORK/demo.out" ||
    fail "demo-fleet.sh does not print both URLs and how to stop: $(cat "$WORK/demo.out")"
for u in "$A" "$B"; do
    curl -fsS "$u/api/v1/health_check" >/dev/null || fail "$u does not answer"
done
grep -q "postgres://" "$D/coordinator-a.log" "$D/coordinator-b.log" 2>/dev/null ||
    grep -q "postgres://" "$WORK/demo.out" || fail "the demo does not run on PostgreSQL"
ok "demo-fleet.sh: two coordinators answer on the PostgreSQL + S3 + ClickHouse set"

# the agent heartbeats to B; a request made through A reaches it and completes
HOST=$(hostname)
for _ in $(seq 1 300); do
    "$BUILD/cli/gprofctl" hosts --coordinator "$A" --json 2>/dev/null | grep -q "\"$HOST\"" && break
    sleep 0.1
done
"$BUILD/cli/gprofctl" hosts --coordinator "$A" --json | grep -q "\"$HOST\"" ||
    fail "A does not list the agent heartbeating to B: $(tail -5 "$D/agent.log")"
timeout 90 "$BUILD/cli/gprofctl" start --coordinator "$A" --host "$HOST" -d 2 >"$WORK/start.out" 2>&1 ||
    fail "a request through A did not complete on the agent of B: $(tail -5 "$WORK/start.out"; tail -5 "$D/agent.log")"
ok "a request through coordinator A reaches the agent heartbeating to B and completes"

pids=$(cat "$D"/*.pid "$D"/servers/*.pid 2>/dev/null)
bash "$DEMO" stop --dir "$D" >"$WORK/stop.log" 2>&1 || fail "demo-fleet.sh stop: $(cat "$WORK/stop.log")"
for p in $pids; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && fail "pid $p still runs after demo-fleet.sh stop"
done
curl -fs "$A/api/v1/health_check" >/dev/null 2>&1 && fail "A still answers after stop"
ok "demo-fleet.sh stop stops the agent, both coordinators and the three servers"
