#!/bin/bash
# test_clickhouse_outage.sh — the ClickHouse sample index stopped during a stream of uploads and
# started again: every upload is acknowledged (metadata and blob are local), the indexer keeps
# the work in its outbox while ClickHouse is down (the engine reports -EAGAIN, not a data error),
# and once it is back every profile is indexed exactly once (flame graph counts and the profiles
# table in ClickHouse).
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"
command -v clickhouse-server >/dev/null || { echo "skip: clickhouse-server not installed"; exit 77; }

SRV=$WORK/srv
CHS=$SRC/tests/servers/server_clickhouse.sh
export GPROF_CH_HTTP_PORT=$(free_port) GPROF_CH_TCP_PORT=$(free_port)
bash "$CHS" start "$SRV" >/dev/null || fail "clickhouse did not start"
trap 'bash "$CHS" stop "$SRV"; cleanup' EXIT
CH=http://127.0.0.1:$GPROF_CH_HTTP_PORT/
chq() { curl -sS "$CH" --data-binary "$1"; }

N=60
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
T0=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S)
T1=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%S)
make_numbered_bodies "$WORK/b" "$N" "$NOW" 4
send() { send_numbered "$WORK/b" "$1" 20; } # i -> http code

start_coord "$WORK/state" --index "clickhouse://127.0.0.1:$GPROF_CH_HTTP_PORT/outage"
for i in $(seq 0 19); do [ "$(send "$i")" = 200 ] || fail "upload $i"; done
bash "$CHS" stop "$SRV"
curl -fs "$CH/ping" >/dev/null 2>&1 && fail "clickhouse still answering after stop"
for i in $(seq 20 49); do [ "$(send "$i")" = 200 ] || fail "upload $i while clickhouse is down"; done
sleep 1 # the indexer meets the outage (several passes at 50 ms)
grep -q "unreachable" "$WORK/coord.log" || fail "the indexer never met the outage"
# an outage is not the profile's fault: no attempt counted (12 would mark it failed for good)
grep -q "retrying in\|giving up" "$WORK/coord.log" && fail "the outage was counted as a failed attempt"
ok "50 uploads acknowledged, ClickHouse stopped after 20 of them"
bash "$CHS" start "$SRV" >/dev/null || fail "clickhouse did not restart"
for i in $(seq 50 $((N - 1))); do [ "$(send "$i")" = 200 ] || fail "upload $i"; done

for _ in $(seq 1 300); do
    [ "$(chq "SELECT count() FROM outage.profiles")" = "$N" ] && break
    sleep 0.1
done
got=$(chq "SELECT count(), uniqExact(pid) FROM outage.profiles FORMAT CSV")
[ "$got" = "$N,$N" ] || fail "profiles in clickhouse: $got (want $N,$N)"
curl -s "$H/api/flamegraph?serviceName=svc&startTime=$T0&endTime=$T1&stacksCount=100000&format=collapsed" >"$WORK/c.col"
numbered_counts_exact "$WORK/c.col" "$N" || fail "flame graph after the outage differs"
ok "after ClickHouse came back every one of $N profiles is indexed exactly once"
stop_coord
