#!/bin/bash
# test_coordinator_crash_loop.sh — issue 16 crash tests at small scale: the coordinator is
# kill -9'd 50 times (0.1-0.6 s after each start) under a steady stream of uploads; the loader
# retries each upload with its upload id until acknowledged. At the end every upload is stored
# exactly once (no acknowledged one lost, none indexed twice) and SQLite's integrity_check
# passes on both databases.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

STATE=$WORK/state
KILLS=${CRASH_LOOP_KILLS:-50}
N=1000 # more bodies than the loop sends (423 at load average 22); the loader stops when told
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
T0=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S)
T1=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%S)
make_numbered_bodies "$WORK/b" "$N" "$NOW" 8
PORT=$(free_port)

# load.py PORT DIR STOPFILE ACKED: uploads DIR/0.gz, 1.gz, ... in order, each retried (same
# upload id) until answered 200; the index of each acknowledged one goes to ACKED. Stops after
# the upload in flight once STOPFILE exists, or when every body is sent (a quiet machine can).
cat >"$WORK/load.py" <<'PY'
import os, sys, time, urllib.request
port, d, stop, acked = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
url = "http://127.0.0.1:%d/api/v2/profiles?service=svc" % port
out = open(acked, "a", buffering=1)
i = 0
retries = 0
while not os.path.exists(stop) and os.path.exists("%s/%d.gz" % (d, i)):
    body = open("%s/%d.gz" % (d, i), "rb").read()
    while True:
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "GPROFILER-SERVICE-NAME": "svc", "Content-Encoding": "gzip",
            "X-Gprof-Upload-Id": "u%d" % i})
        try:
            if urllib.request.urlopen(req, timeout=10).status == 200:
                break
        except Exception:
            pass
        retries += 1
        time.sleep(0.02)
    out.write("%d\n" % i)
    i += 1
print("sent=%d retries=%d" % (i, retries))
PY
: >"$WORK/acked"
python3 "$WORK/load.py" "$PORT" "$WORK/b" "$WORK/stop" "$WORK/acked" >"$WORK/load.out" 2>&1 &
LOADER=$!
trap 'kill -9 $LOADER 2>/dev/null || true; cleanup' EXIT

t0=$SECONDS
for k in $(seq 1 "$KILLS"); do
    start_coord "$STATE"
    sleep "0.$((RANDOM % 6 + 1))"
    kill -9 "$COORD_PID"
    wait "$COORD_PID" 2>/dev/null || true
    COORD_PID=
    if [ $((k % 10)) = 0 ]; then
        for db in meta.db index.db; do
            r=$(sqlite3 "$STATE/$db" 'PRAGMA integrity_check;')
            [ "$r" = ok ] || fail "$db integrity_check after $k kills: $r"
        done
    fi
done
NACK=$(wc -l <"$WORK/acked")
[ "$NACK" -ge "$KILLS" ] || fail "only $NACK uploads acknowledged across $KILLS restarts: no load"
ok "$KILLS kill -9 in $((SECONDS - t0)) s under load; $NACK uploads acknowledged meanwhile; integrity_check ok every 10 kills"

start_coord "$STATE"
touch "$WORK/stop"
wait "$LOADER" || fail "loader failed: $(cat "$WORK/load.out")"
SENT=$(sed -n 's/^sent=\([0-9]*\).*/\1/p' "$WORK/load.out")
[ "$SENT" = "$(wc -l <"$WORK/acked")" ] || fail "loader: $(cat "$WORK/load.out")"
got=1
for _ in $(seq 1 300); do
    curl -s "$H/api/flamegraph?serviceName=svc&startTime=$T0&endTime=$T1&stacksCount=1000000&format=collapsed" >"$WORK/c.col" || true
    if numbered_counts_exact "$WORK/c.col" "$SENT" quiet; then got=0; break; fi
    sleep 0.1
done
[ "$got" = 0 ] || { numbered_counts_exact "$WORK/c.col" "$SENT" || true; fail "after $KILLS kills the $SENT acknowledged uploads are not each counted exactly once"; }
ok "all $SENT acknowledged uploads queryable, each counted exactly once ($(cat "$WORK/load.out"))"
stop_coord
for db in meta.db index.db; do
    r=$(sqlite3 "$STATE/$db" 'PRAGMA integrity_check;')
    [ "$r" = ok ] || fail "$db integrity_check: $r"
done
ok "PRAGMA integrity_check ok on meta.db and index.db"
echo PASS
