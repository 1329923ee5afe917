#!/bin/bash
# test_coordinator_bomb.sh — issue 10 #1: a small gzip that inflates to 60 MiB, posted to
# /api/metrics/heartbeat against `--auth on`. Without a token it is refused from the header
# (401) and never inflated; with a valid token it stops inflating at the heartbeat's bound (413).
# Either way the coordinator's peak RSS (VmHWM) stays far below the body's inflated size.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

STATE=$WORK/state
TOK=$(coord_admin token create --service svc --state-dir "$STATE" 2>/dev/null)
[ -n "$TOK" ] || fail "token create printed no token"
bomb() { # OUT MiB
    python3 -c "import gzip,sys;n=int(sys.argv[2])<<20;open(sys.argv[1],'wb').write(gzip.compress(b'['+b'1,'*(n-1)+b'1]',9))" "$@"
}
bomb "$WORK/bomb.gz" 60       # 122 KB on the wire
bomb "$WORK/small-bomb.gz" 16 # 33 KB: under the heartbeat's wire bound, so it is inflated
start_coord "$STATE" --auth on --ui-token UITOKEN

hwm_mb() { awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$COORD_PID/status"; }
post_bomb() { # [curl args] -> status
    curl -s -o "$WORK/resp" -w '%{http_code}' --max-time 120 -X POST "$H/api/metrics/heartbeat" \
        -H 'Content-Encoding: gzip' -H 'Content-Type: application/json' \
        --data-binary @"${BOMB:-$WORK/bomb.gz}" "$@" || true
}

code=$(post_bomb)
[ "$code" = 401 ] || fail "bomb without a token: expected 401, got $code: $(head -c 300 "$WORK/resp")"
grep -q "missing agent token" "$WORK/resp" || fail "401 lacks its reason: $(head -c 300 "$WORK/resp")"
code=$(post_bomb -H "GPROFILER-API-KEY: not-a-token")
[ "$code" = 401 ] || fail "bomb with a wrong token: expected 401, got $code"
hwm=$(hwm_mb)
[ "$hwm" -lt 200 ] || fail "peak RSS ${hwm} MB after unauthenticated bombs (expected < 200 MB)"
ok "unauthenticated bomb: 401 from the header, peak RSS ${hwm} MB"

code=$(post_bomb -H "GPROFILER-API-KEY: $TOK")
[ "$code" = 413 ] || fail "bomb with a valid token: expected 413, got $code: $(head -c 300 "$WORK/resp")"
grep -q "exceeds the limit of 65536 bytes" "$WORK/resp" ||
    fail "413 does not name the bound: $(head -c 300 "$WORK/resp")"
code=$(BOMB=$WORK/small-bomb.gz post_bomb -H "GPROFILER-API-KEY: $TOK")
[ "$code" = 413 ] || fail "16 MiB bomb with a valid token: expected 413, got $code: $(head -c 300 "$WORK/resp")"
grep -q "decompresses to more than 65536 bytes" "$WORK/resp" ||
    fail "413 does not name the inflated bound: $(head -c 300 "$WORK/resp")"
hwm=$(hwm_mb)
[ "$hwm" -lt 200 ] || fail "peak RSS ${hwm} MB after an authenticated bomb (expected < 200 MB)"
ok "authenticated bomb: 413 at the heartbeat's 64 KiB bound, peak RSS ${hwm} MB"

# the control API refuses a bomb as well (its own, small bound)
code=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X POST "$H/api/metrics/profile_request" \
    -H 'Content-Encoding: gzip' -H 'Authorization: Bearer UITOKEN' --data-binary @"$WORK/bomb.gz")
[ "$code" = 413 ] || fail "profile_request bomb: expected 413, got $code"
code=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X POST "$H/api/metrics/profile_request" \
    -H 'Content-Encoding: gzip' --data-binary @"$WORK/bomb.gz")
[ "$code" = 401 ] || fail "profile_request bomb without credentials: expected 401, got $code"
# a normal heartbeat still works
code=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X POST "$H/api/metrics/heartbeat" \
    -H "GPROFILER-API-KEY: $TOK" -H 'Content-Type: application/json' \
    -d '{"hostname":"h1","service_name":"svc","ip_address":"10.0.0.1","status":"active"}')
[ "$code" = 200 ] || fail "plain heartbeat: expected 200, got $code: $(head -c 300 "$WORK/resp")"
hwm=$(hwm_mb)
[ "$hwm" -lt 200 ] || fail "peak RSS ${hwm} MB at the end (expected < 200 MB)"
ok "control API bomb 413/401, plain heartbeat 200, peak RSS ${hwm} MB"
stop_coord
echo "PASS"
