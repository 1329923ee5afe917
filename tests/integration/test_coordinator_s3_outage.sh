#!/bin/bash
# test_coordinator_s3_outage.sh — a coordinator on the S3 blob engine (s3rver behind
# tests/servers/s3/faultproxy.py): while S3 answers 500 an upload is not acknowledged (503, the
# agent keeps it in its spool and retries); a few 500/503 are retried inside the engine and the
# upload is acknowledged; once S3 is back, the retried uploads land, and every acknowledged
# profile is stored and indexed exactly once.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

s3_fault_proxy

N=24
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
T0=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S)
T1=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%S)
make_numbered_bodies "$WORK/b" "$N" "$NOW" 3
send() { send_numbered "$WORK/b" "$1" 60 "$WORK/send.out"; } # i -> http code

SPEC="s3://gprof-test/outage-$$-$RANDOM?endpoint=$P&retry_seconds=1"
start_coord "$WORK/state" --blobs "$SPEC" --blob-spool off # the synchronous path; with the spool: test_coordinator_spool_crash.sh
: >"$WORK/acked"
for i in $(seq 0 7); do
    [ "$(send "$i")" = 200 ] || fail "upload $i with S3 up: $(cat "$WORK/send.out")"
    echo "$i" >>"$WORK/acked"
done
ok "uploads acknowledged with S3 up"

fault "set?mode=500&n=-1"
for i in $(seq 8 15); do
    code=$(send "$i")
    [ "$code" != 200 ] || fail "upload $i acknowledged while S3 answers 500"
    [ "$code" = 503 ] || fail "upload $i during the outage: $code $(cat "$WORK/send.out"), want 503"
done
grep -q "500" "$WORK/send.out" || fail "the 503 does not say what failed: $(cat "$WORK/send.out")"
ok "while S3 answers 500, uploads get 503 and are not acknowledged ($(cat "$WORK/send.out"))"

fault "set?mode=503&n=2"
[ "$(send 16)" = 200 ] || fail "upload 16 after two 503s: $(cat "$WORK/send.out")"
echo 16 >>"$WORK/acked"
fault "set?mode=drop&n=1"
[ "$(send 17)" = 200 ] || fail "upload 17 after a dropped connection: $(cat "$WORK/send.out")"
echo 17 >>"$WORK/acked"
ok "short S3 failures (two 503s, a dropped connection) are retried by the engine"

fault "clear"
# the agent's spool: everything not acknowledged is sent again, with its upload id
for i in $(seq 8 15) $(seq 18 $((N - 1))); do
    for _ in $(seq 1 20); do
        [ "$(send "$i")" = 200 ] && { echo "$i" >>"$WORK/acked"; break; }
        sleep 0.2
    done
done
# and a retry of an acknowledged upload changes nothing
[ "$(send 0)" = 200 ] || fail "retry of acknowledged upload 0"
[ "$(sort -n "$WORK/acked" | uniq | wc -l)" = "$N" ] || fail "not every upload acknowledged after S3 came back"
ok "after S3 is back every upload is acknowledged"

for _ in $(seq 1 200); do
    curl -s "$H/api/flamegraph?serviceName=svc&startTime=$T0&endTime=$T1&stacksCount=100000&format=collapsed" >"$WORK/c.col" || true
    numbered_counts_exact "$WORK/c.col" "$N" quiet && break
    sleep 0.1
done
numbered_counts_exact "$WORK/c.col" "$N" || fail "acknowledged profiles missing or counted twice in the index"
ok "every acknowledged profile is stored and indexed exactly once"
stop_coord
