#!/bin/bash
# test_coordinator_limits.sh — issue 16 "Limits": the control endpoints' per-identity token
# bucket answers 429 with Retry-After (one caller over the limit does not slow another; logged
# once per burst), a slow header and a slow body (dribbled, never idle) get 408, an oversized
# body 413.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

start_coord "$WORK/state" --auth on --ui-token UITOKEN --ui-basic-auth alice:pw \
    --control-rate 6/m --control-burst 3 --header-timeout-s 2 --body-timeout-s 2 \
    --max-request-bytes 4096
BAD='{"service_name":"svc","request_type":"stop"}' # 400, no side effect: still a control request
ctl() { # ctl AUTH-ARGS... -> "<code> <Retry-After>"
    curl -s -D "$WORK/hdr" -o "$WORK/resp" -w '%{http_code}' "$@" -X POST \
        "$H/api/metrics/profile_request" -d "$BAD"
    echo " $(sed -n 's/^Retry-After: *\([0-9]*\).*/\1/ip' "$WORK/hdr")"
}
ALICE=(-u alice:pw)
TOK=(-H 'Authorization: Bearer UITOKEN')

# --- 429: the burst, then Retry-After; another identity is unaffected ------------------------
for i in 1 2 3; do
    r=$(ctl "${ALICE[@]}")
    [ "${r% *}" = 400 ] || fail "request $i of alice's burst of 3: got '$r', expected 400"
done
for i in $(seq 1 12); do
    r=$(ctl "${ALICE[@]}")
    [ "${r% *}" = 429 ] || fail "request $((i + 3)) of alice over burst 3 at 6/m: got '$r', expected 429"
done
ra=${r#* }
[ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 10 ] || fail "429 without a Retry-After of 1-10 s: '$ra'"
grep -q 'control_rate 0.1/s, burst 3' "$WORK/resp" || fail "429 body does not name the limit: $(cat "$WORK/resp")"
grep -q 'user alice' "$WORK/resp" || fail "429 body does not name the caller: $(cat "$WORK/resp")"
r=$(ctl "${TOK[@]}")
[ "${r% *}" = 400 ] || fail "the UI token (another identity) was refused while alice was limited: '$r'"
n=$(grep -c 'user alice is over the control rate limit' "$WORK/coord.log" || true)
[ "$n" = 1 ] || fail "12 refusals in one burst logged $n times (expected once)"
ok "alice: 3 served, then 429 with Retry-After: $ra; the UI token still served; logged once"
sleep "$ra"
r=$(ctl "${ALICE[@]}")
[ "${r% *}" = 400 ] || fail "alice after Retry-After: got '$r'"
grep -q 'user alice is under the control rate limit again after 12 refused' "$WORK/coord.log" ||
    fail "no log line for the end of alice's burst"
ok "alice served again after Retry-After; end of the burst logged with its count"
# a wrong password is not a principal: 401 before any bucket is touched
r=$(ctl -u alice:wrong)
[ "${r% *}" = 401 ] || fail "wrong password: got '$r', expected 401"

# --- 408: a dribbled header, a dribbled body (never idle, so only the deadlines trip) --------
python3 - "$PORT" <<'PY' || fail "slow header or slow body not answered 408"
import socket, sys, time
port = int(sys.argv[1])
def dribble(first, rest, what):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(first)
    t0 = time.monotonic()
    s.settimeout(0.4)
    got = b""
    for b in rest:
        try:
            s.send(bytes([b]))
        except OSError:
            break
        try:
            d = s.recv(4096)
            if not d:
                break
            got += d
            if b"\r\n\r\n" in got:
                break
        except socket.timeout:
            pass
        if time.monotonic() - t0 > 15:
            break
    s.settimeout(2)
    try:
        while b"}" not in got:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except OSError:
        pass
    took = time.monotonic() - t0
    print("%s: %.1f s: %r" % (what, took, got[:120]))
    assert got.startswith(b"HTTP/1.1 408"), what
    assert 1.5 < took < 6, what
    assert what.split()[1].encode() in got, what
dribble(b"GET /api/v1/health_check HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Slow: " + b"a" * 100,
        "slow header_timeout_s")
dribble(b"POST /api/metrics/profile_request HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer UITOKEN\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n", b" " * 1000, "slow body_timeout_s")
PY
grep -q 'sent no complete request header within 2 s (header_timeout_s)' "$WORK/coord.log" ||
    fail "no log line for the late header"
grep -q 'sent no complete request body within 2 s (body_timeout_s)' "$WORK/coord.log" ||
    fail "no log line for the late body"
expect_status 200 "" "$H/api/v1/health_check"
ok "dribbled header and dribbled body: 408 after about 2 s, logged; the server still answers"

# --- 413: a body over max_request_bytes -------------------------------------------------------
head -c 5000 /dev/zero | tr '\0' ' ' >"$WORK/big"
expect_status 413 "exceeds the limit of 4096 bytes" "${TOK[@]}" -X POST \
    "$H/api/metrics/profile_request" --data-binary @"$WORK/big"
ok "5000-byte control body over max_request_bytes 4096: 413"
stop_coord
echo PASS
