#!/bin/bash
# test_coordinator_crash.sh — kill -9 during a stream of uploads, restart: every acknowledged
# profile is queryable, nothing is counted twice (also after every upload is retried with its
# upload id), and SQLite reports both databases intact.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

STATE=$WORK/state
N=40
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
T0=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S)
T1=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%S)
make_numbered_bodies "$WORK/b" "$N" "$NOW" 4 50

send() { send_numbered "$WORK/b" "$1" 10; } # i -> http code

start_coord "$STATE"
: >"$WORK/acked"
(
    for i in $(seq 0 $((N - 1))); do
        [ "$(send "$i")" = 200 ] && echo "$i" >>"$WORK/acked"
    done
) &
LOADER=$!
for _ in $(seq 1 400); do
    [ "$(wc -l <"$WORK/acked")" -ge 12 ] && break
    sleep 0.02
done
kill -9 "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
COORD_PID=
wait "$LOADER" || true
NACK=$(wc -l <"$WORK/acked")
[ "$NACK" -ge 12 ] && [ "$NACK" -lt "$N" ] || fail "kill did not land mid-stream ($NACK of $N acknowledged)"
ok "killed with -9 after $NACK of $N uploads were acknowledged"

check_counts() { # label must_have_all
    local want_all=$1 got=""
    # wait until the indexer has drained: two equal consecutive answers with every acked stack
    for _ in $(seq 1 200); do
        curl -s "$H/api/flamegraph?serviceName=svc&startTime=$T0&endTime=$T1&stacksCount=100000&format=collapsed" >"$WORK/c.col" || true
        if python3 - "$WORK/c.col" "$WORK/acked" "$N" "$want_all" <<'PY'; then return 0; fi
import sys
col, acked, n, want_all = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
counts = {}
for line in open(col):
    stack, c = line.rstrip("\n").rsplit(" ", 1)
    counts[stack] = counts.get(stack, 0) + int(c)
ack = {int(x) for x in open(acked).read().split()}
need = set(range(n)) if want_all else ack
present = set()
for i in range(n):
    c = counts.get("app;main;u%d" % i)
    if c is None:
        continue
    if c != i + 1:
        print("upload %d counted %d times its samples" % (i, c // (i + 1)), file=sys.stderr)
        sys.exit(2)
    present.add(i)
missing = need - present
if missing:
    sys.exit(1)
if counts.get("app;main;common") != len(present):
    print("common=%s for %d stored uploads" % (counts.get("app;main;common"), len(present)), file=sys.stderr)
    sys.exit(1)
PY
        sleep 0.1
    done
    fail "after restart: acknowledged uploads missing or counted twice"
}

start_coord "$STATE"
check_counts 0
ok "every acknowledged profile is queryable after the restart, none counted twice"

for i in $(seq 0 $((N - 1))); do
    [ "$(send "$i")" = 200 ] || fail "retry of upload $i"
done
check_counts 1
ok "retrying all $N uploads by upload id stores each exactly once"

stop_coord
for db in meta.db index.db; do
    [ -f "$STATE/$db" ] || fail "no $STATE/$db"
    r=$(sqlite3 "$STATE/$db" 'PRAGMA integrity_check;')
    [ "$r" = ok ] || fail "$db integrity_check: $r"
done
ok "PRAGMA integrity_check ok on meta.db and index.db"
