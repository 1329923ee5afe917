#!/bin/bash
# test_coordinator_fleet_postgres.sh — two gprof-coordinator processes on one PostgreSQL metadata
# store (tests/servers/server_postgres.sh; a shared blob directory, a SQLite index each): a
# request made through one reaches an agent heartbeating to the other, concurrent requests for
# one host through both end in one merged command, uploads through both are stored once each,
# and `gprof-coordinator migrate --to N` runs the schema down and up.
set -euo pipefail
if [ -z "${GPROF_TEST_SPEC_POSTGRES:-}" ]; then
    if [ "${GPROF_REQUIRE_SERVERS:-0}" = 1 ]; then
        echo "FAIL: GPROF_TEST_SPEC_POSTGRES is not set (tests/servers/all.sh start DIR)"
        exit 1
    fi
    echo "SKIP: GPROF_TEST_SPEC_POSTGRES is not set (tests/servers/all.sh start DIR)"
    exit 77
fi
. "$(dirname "$0")/coordinator_lib.sh"

SPEC=${GPROF_TEST_SPEC_POSTGRES//\{unique\}/fleet$$}
FLAGS=(--auth on --ui-token UI --heartbeat-interval-s 1 --meta "$SPEC" --blobs "fs:$WORK/blobs")
TOK=$("$COORD" token create --service svc --state-dir "$WORK/a" --meta "$SPEC" 2>"$WORK/tok.err") ||
    fail "token create on postgres: $(cat "$WORK/tok.err")"

start_coord "$WORK/a" "${FLAGS[@]}"
PID_A=$COORD_PID H_A=$H
trap 'kill -9 $PID_A 2>/dev/null || true; cleanup' EXIT
PORT= start_coord "$WORK/b" "${FLAGS[@]}"
PID_B=$COORD_PID H_B=$H
[ "$H_A" != "$H_B" ] || fail "both coordinators on one port"
UI=(-H "Authorization: Bearer UI")

hb() { # base host -> response json
    curl -s -X POST "$1/api/metrics/heartbeat" -H "Authorization: Bearer $TOK" \
        -H 'Content-Type: application/json' \
        -d "{\"ip_address\":\"10.1.0.9\",\"hostname\":\"$2\",\"service_name\":\"svc\",\"last_command_id\":null,\"status\":\"active\",\"timestamp\":\"2026-01-01T00:00:00\",\"received_command_ids\":[],\"executed_command_ids\":[]}"
}
req() { curl -s "${UI[@]}" -X POST "$1/api/metrics/profile_request" -d "$2"; }

# --- a request through A reaches the agent heartbeating to B ---------------------------------
hb "$H_B" h1 | jcheck '.success and .command_id == null' || fail "first heartbeat to B"
RJ=$(req "$H_A" '{"service_name":"svc","request_type":"start","duration":30,"target_hosts":{"h1":[7]}}')
echo "$RJ" | jcheck '.success and (.command_ids|length)==1' || fail "request through A: $RJ"
CID=$(echo "$RJ" | field '.command_ids[0]')
got=
for _ in $(seq 1 50); do # B re-reads a cached command once it is a second old
    got=$(hb "$H_B" h1 | field '.command_id')
    [ "$got" = "$CID" ] && break
    sleep 0.2
done
[ "$got" = "$CID" ] || fail "the agent heartbeating to B never got A's command $CID (last: $got)"
RID=$(echo "$RJ" | field '.request_id')
curl -s "${UI[@]}" "$H_A/api/metrics/profile_request?request_id=$RID" | jcheck '.status=="assigned"' ||
    fail "delivery through B is not seen through A"
ok "a request made through coordinator A reaches an agent heartbeating to coordinator B"

# --- concurrent requests for one host through both end in one merged command -----------------
hb "$H_A" h2 >/dev/null
N=16
jobs_=()
for i in $(seq 1 $N); do
    base=$H_A
    [ $((i % 2)) = 0 ] && base=$H_B
    req "$base" "{\"service_name\":\"svc\",\"request_type\":\"start\",\"duration\":30,\"target_hosts\":{\"h2\":[$((100 + i))]}}" >"$WORK/r$i" &
    jobs_+=($!)
done
wait "${jobs_[@]}" # (a bare wait would wait for the coordinators too)
for i in $(seq 1 $N); do
    jcheck '.success' <"$WORK/r$i" || fail "concurrent request $i: $(cat "$WORK/r$i")"
done
for base in "$H_A" "$H_B"; do
    ok=0
    for _ in $(seq 1 50); do
        hb "$base" h2 >"$WORK/hb2"
        if jcheck ".profiling_command.combined_config.pids | length == $N" <"$WORK/hb2"; then ok=1; break; fi
        sleep 0.2
    done
    [ $ok = 1 ] || fail "the command of h2 does not hold all $N requests' pids: $(cat "$WORK/hb2")"
done
C2=$(field '.command_id' <"$WORK/hb2")
for i in $(seq 1 $N); do
    r=$(field '.request_id' <"$WORK/r$i")
    curl -s "${UI[@]}" "$H_A/api/metrics/profile_request?request_id=$r" |
        jcheck "any(.executions[]; .command_id==\"$C2\")" || fail "request $i is not in command $C2"
done
ok "$N concurrent requests for one host through both coordinators end in one merged command"

# --- uploads through both coordinators: stored once each, on the shared stores ---------------
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
for i in 1 2 3 4; do
    cat >"$WORK/p.col" <<P
# {"containers":[],"metadata":{"hostname":"host$i","run_arguments":{"service_name":"svc","continuous":true}},"metrics":{"cpu_avg":1.0,"mem_avg":2.0}}
0;;python;main;work 5
0;;python;main;idle 2
P
    make_body "$WORK/b$i.gz" "$NOW" host$i "$WORK/p.col"
    H=$H_A
    [ $((i % 2)) = 0 ] && H=$H_B
    code=$(upload "$WORK/b$i.gz" svc host$i "$TOK" | cut -d' ' -f1)
    [ "$code" = 200 ] || fail "upload $i through $H: $code"
done
n=$(find "$WORK/blobs" -name '*.gz' | wc -l)
[ "$n" = 4 ] || fail "expected 4 blobs in the shared directory, found $n"
# each coordinator indexes what it claims from the shared outbox into its own index here: the
# two indexes together hold every profile exactly once
indexed() {
    local t=0 c
    for d in a b; do
        c=$(sqlite3 "$WORK/$d/index.db" 'SELECT COUNT(*) FROM profiles' 2>/dev/null || echo 0)
        t=$((t + c))
    done
    echo $t
}
for _ in $(seq 1 100); do
    [ "$(indexed)" -ge 4 ] && break
    sleep 0.1
done
[ "$(indexed)" = 4 ] || fail "4 uploads indexed $(indexed) times across both coordinators"
ok "uploads through both coordinators are stored once and indexed once (claimed outbox)"

kill -TERM "$PID_A"
wait "$PID_A" || fail "coordinator A exited badly"
stop_coord

# --- migrations down and up from the command line -------------------------------------------
"$COORD" migrate --meta "$SPEC" --to 1 | grep -q "version 1" || fail "migrate --to 1"
"$COORD" migrate --meta "$SPEC" | grep -q "version 4" || fail "migrate up again"
out=$("$COORD" migrate --meta "${SPEC/gprof@/gprof:bad-pw-123@}" 2>&1) && fail "a wrong password migrated"
echo "$out" | grep -q "bad-pw-123" && fail "the password was printed: $out"
echo "$out" | grep -q "127.0.0.1" || fail "the error does not name the server: $out"
ok "gprof-coordinator migrate --to N runs down and up; a wrong password is refused unprinted"
