#!/bin/bash
# test_coordinator_spool_crash.sh — the upload spool (blob_spool on, S3 blob engine behind
# tests/servers/s3/faultproxy.py): while S3 answers 500 uploads are acknowledged from the local
# spool and not indexed (their outbox rows are parked, no indexer reads a blob S3 lacks); the
# coordinator is killed with -9 with the spool full; after a restart with S3 back every
# acknowledged profile is in S3 once and indexed exactly once, the spool is empty, and a spool
# file of an upload that was never acknowledged is removed, not stored.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

s3_fault_proxy

N=20
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
T0=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S)
T1=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%S)
make_numbered_bodies "$WORK/b" "$N" "$NOW" 3
send() { send_numbered "$WORK/b" "$1" 30 "$WORK/send.out"; } # i -> http code
fg() {
    curl -s "$H/api/flamegraph?serviceName=svc&startTime=$T0&endTime=$T1&stacksCount=100000&format=collapsed" >"$1" || true
}

PREFIX=spool-$$-$RANDOM
SPEC="s3://gprof-test/$PREFIX?endpoint=$P&retry_seconds=1"
# the objects under the prefix, straight from the S3 server (not through the fault proxy)
s3_keys() {
    curl -fsS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        "$GPROF_TEST_S3_ENDPOINT/gprof-test?list-type=2&max-keys=1000&prefix=$PREFIX/" |
        grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' | grep '\.gz$' || true
}
STATE=$WORK/state
start_coord "$STATE" --blobs "$SPEC" --blob-spool on --blob-spool-uploaders 3

[ "$(send 0)" = 200 ] || fail "upload 0 with S3 up: $(cat "$WORK/send.out")"
for _ in $(seq 1 100); do [ "$(s3_keys | wc -l)" = 1 ] && break; sleep 0.1; done
[ "$(s3_keys | wc -l)" = 1 ] || fail "upload 0 did not reach S3: $(s3_keys)"
ok "with S3 up a spooled upload reaches S3"

fault "set?mode=500&n=-1"
for i in $(seq 1 $((N - 1))); do
    [ "$(send "$i")" = 200 ] || fail "upload $i while S3 answers 500: $(cat "$WORK/send.out"), want 200 from the spool"
done
ok "while S3 answers 500, uploads are acknowledged from the spool"
# a retry of a spooled upload is stored once (its upload id is known)
[ "$(send 5)" = 200 ] || fail "retry of spooled upload 5"
SPOOLED=$(find "$STATE/spool" -maxdepth 1 -type f ! -name '.*' | wc -l)
[ "$SPOOLED" = $((N - 1)) ] || fail "$SPOOLED spool files for $((N - 1)) acknowledged uploads"
[ "$(s3_keys | wc -l)" = 1 ] || fail "objects reached S3 while it answered 500: $(s3_keys)"
sleep 1 # the indexer polls every 50 ms: parked rows must stay unindexed
fg "$WORK/c.col"
if grep -q '^app;main;u[1-9]' "$WORK/c.col"; then
    fail "a profile whose blob is not in S3 was indexed: $(grep '^app;main;u' "$WORK/c.col" | head -3)"
fi
M=$(curl -s "$H/metrics")
grep -qx "gprof_upload_spool_files $SPOOLED" <<<"$M" || fail "/metrics: $(grep spool <<<"$M")"
grep -Eq '^gprof_upload_spool_puts_total\{result="retry"\} [1-9]' <<<"$M" || fail "/metrics retries: $(grep spool <<<"$M")"
ok "spooled profiles wait, parked, until their blob is in S3 ($SPOOLED files, in /metrics too)"

# a spool file of an upload never acknowledged (killed between its spool write and its commit)
printf 'GPSPOOL1 products/svc/stacks/2026-01-01/1_unacked_h.col.gz\n' >"$STATE/spool/unacked.0123abcd"
gzip -c <<<'x' >>"$STATE/spool/unacked.0123abcd"
# a file cut short by a crash (written under its final name, which ends in the size it was
# written with) for an upload id that has a row (committed by another coordinator, say): removed
CUT="$STATE/spool/u3.0123abcd4567.999999"
printf 'GPSPOOL1 products/svc/stacks/2026-01-01/1_cutshort_h.col.gz\n' >"$CUT"
gzip -c <<<'x' | head -c 10 >>"$CUT"

kill -9 "$COORD_PID"
wait "$COORD_PID" 2>/dev/null || true
COORD_PID=
ok "killed with -9, $SPOOLED acknowledged uploads in the spool"

fault "clear"
start_coord "$STATE" --blobs "$SPEC" --blob-spool on --blob-spool-uploaders 3
for _ in $(seq 1 300); do
    fg "$WORK/c.col"
    numbered_counts_exact "$WORK/c.col" "$N" quiet && break
    sleep 0.1
done
numbered_counts_exact "$WORK/c.col" "$N" || fail "acknowledged profiles missing or counted twice in the index after the restart"
ok "after the restart every acknowledged profile is indexed exactly once"
KEYS=$(s3_keys)
[ "$(wc -l <<<"$KEYS")" = "$N" ] || fail "S3 holds $(wc -l <<<"$KEYS") objects for $N uploads: $KEYS"
for i in $(seq 0 $((N - 1))); do
    [ "$(grep -c "_u${i}_" <<<"$KEYS")" = 1 ] || fail "upload $i: $(grep -c "_u${i}_" <<<"$KEYS") objects in S3"
done
! grep -q unacked <<<"$KEYS" || fail "the unacknowledged spool file was stored"
! grep -q cutshort <<<"$KEYS" || fail "the spool file cut short was stored"
LEFT=$(find "$STATE/spool" -maxdepth 1 -type f ! -name .lock | wc -l)
[ "$LEFT" = 0 ] || fail "$LEFT files left in the spool: $(ls -a "$STATE/spool")"
grep -q "upload spool: $((N - 1)) acknowledged uploads left by the last run to put, 2 unacknowledged removed" \
    "$WORK/coord.log" || fail "the replay was not logged: $(grep spool "$WORK/coord.log" | tail -3)"
ok "every acknowledged upload is in S3 once, the unacknowledged and cut-short files removed, the spool empty"

# retrying everything stores nothing twice
for i in $(seq 0 $((N - 1))); do
    [ "$(send "$i")" = 200 ] || fail "retry of upload $i"
done
sleep 0.5
fg "$WORK/c.col"
numbered_counts_exact "$WORK/c.col" "$N" || fail "retries counted twice"
[ "$(s3_keys | wc -l)" = "$N" ] || fail "retries stored new objects"
ok "retrying all $N uploads changes nothing"

# a second coordinator on this state dir would replay (delete) the first one's uncommitted files
rc=0
timeout 30 "$COORD" --listen "127.0.0.1:$(free_port)" --state-dir "$STATE" --blobs "$SPEC" \
    --blob-spool on >"$WORK/second.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q "in use by another coordinator" "$WORK/second.log" ||
    fail "a second coordinator on the same spool was not refused (rc $rc): $(cat "$WORK/second.log")"
ok "a second coordinator on the same spool is refused"
stop_coord
