#!/bin/bash
# test_coordinator_limits.sh — issue 16 "Limits": the control endpoints' per-identity token
# bucket answers 429 with Retry-After (one caller over the limit does not slow another; logged
# once per burst); the bucket is the authenticated identity's (two users' tokens from one address
# have their own, one token from 127.0.0.1 and 127.0.0.2 shares one, so does the same user's
# cookie session); failed sign-ins are limited per address and per user name (429 + Retry-After
# even for the right password, logged once per burst, audited as refused); a slow header and a
# slow body (dribbled, never idle) get 408, an oversized body 413.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

mkdir -p "$WORK/state"
echo 'pw-one' | coord_admin user add one --role operator --state-dir "$WORK/state" >/dev/null
echo 'pw-two' | coord_admin user add two --role operator --state-dir "$WORK/state" >/dev/null
ONE=$(coord_admin user token one --state-dir "$WORK/state" 2>/dev/null | tail -1)
TWO=$(coord_admin user token two --state-dir "$WORK/state" 2>/dev/null | tail -1)
[[ $ONE =~ ^gpu_ && $TWO =~ ^gpu_ ]] || fail "user token: '$ONE' '$TWO'"
start_coord "$WORK/state" --auth on --ui-token UITOKEN --ui-basic-auth alice:pw \
    --control-rate 6/m --control-burst 3 --login-rate 6/m --login-burst 3 --header-timeout-s 2 --body-timeout-s 2 \
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
grep -q 'basic:alice' "$WORK/resp" || fail "429 body does not name the caller: $(cat "$WORK/resp")"
r=$(ctl "${TOK[@]}")
[ "${r% *}" = 400 ] || fail "the UI token (another identity) was refused while alice was limited: '$r'"
n=$(grep -c 'basic:alice is over the control rate limit' "$WORK/coord.log" || true)
[ "$n" = 1 ] || fail "12 refusals in one burst logged $n times (expected once)"
ok "alice: 3 served, then 429 with Retry-After: $ra; the UI token still served; logged once"
sleep "$ra"
r=$(ctl "${ALICE[@]}")
[ "${r% *}" = 400 ] || fail "alice after Retry-After: got '$r'"
grep -q 'basic:alice is under the control rate limit again after 12 refused' "$WORK/coord.log" ||
    fail "no log line for the end of alice's burst"
ok "alice served again after Retry-After; end of the burst logged with its count"
# a wrong password is not a principal: 401 before any bucket is touched
r=$(ctl -u alice:wrong)
[ "${r% *}" = 401 ] || fail "wrong password: got '$r', expected 401"

# --- the bucket is the authenticated identity's, not the address's nor an unchecked header's --
for i in 1 2 3; do
    r=$(ctl -H "Authorization: Bearer $ONE")
    [ "${r% *}" = 400 ] || fail "user one's request $i of 3: got '$r', expected 400"
done
r=$(ctl -H "Authorization: Bearer $ONE")
[ "${r% *}" = 429 ] || fail "user one's 4th request: got '$r', expected 429"
grep -q 'user:one' "$WORK/resp" || fail "429 body does not name user:one: $(cat "$WORK/resp")"
r=$(ctl -H "Authorization: Bearer $TWO")
[ "${r% *}" = 400 ] || fail "user two's token from the same address shared user one's bucket: '$r'"
ok "two users' tokens from one address: separate buckets (one limited, two served)"
if curl -s --interface 127.0.0.2 -o /dev/null "$H/api/v1/health_check"; then
    for i in 1 2; do
        r=$(ctl --interface 127.0.0.2 -H "Authorization: Bearer $TWO")
        [ "${r% *}" = 400 ] || fail "user two from 127.0.0.2, request $((i + 1)) of 3: got '$r'"
    done
    r=$(ctl --interface 127.0.0.2 -H "Authorization: Bearer $TWO")
    [ "${r% *}" = 429 ] || fail "user two's 4th request (1 from 127.0.0.1, 3 from 127.0.0.2): got '$r', expected 429"
    r=$(ctl -H "Authorization: Bearer $TWO")
    [ "${r% *}" = 429 ] || fail "user two back on 127.0.0.1 got a fresh bucket: '$r'"
    ok "one token from 127.0.0.1 and 127.0.0.2: one bucket (429 on both addresses)"
else
    [ "${CI:-}" != true ] || fail "cannot connect from 127.0.0.2 (CI=true)"
    echo "# SKIP: no connection from 127.0.0.2 here"
fi
# the identity, not the credential: user one signed in with a cookie session is still limited
curl -s -c "$WORK/jar" -o "$WORK/login" -H 'Content-Type: application/json' \
    -d '{"name":"one","password":"pw-one"}' "$H/api/login"
CSRF=$(jq -r .csrf_token <"$WORK/login")
[[ $CSRF == gpc_* ]] || fail "login as one: $(cat "$WORK/login")"
r=$(ctl -b "$WORK/jar" -H "X-CSRF-Token: $CSRF")
[ "${r% *}" = 429 ] || fail "user one through a cookie session got a bucket of its own: '$r'"
ok "user one's cookie session shares the bucket of user one's token"

# --- failed sign-ins: per address and per user name ----------------------------------------
login() { # login ADDR NAME PASSWORD -> "<code> <Retry-After>"
    curl -s -D "$WORK/hdr" -o "$WORK/resp" -w '%{http_code}' --interface "$1" \
        -H 'Content-Type: application/json' -d "{\"name\":\"$2\",\"password\":\"$3\"}" \
        "$H/api/login"
    echo " $(sed -n 's/^Retry-After: *\([0-9]*\).*/\1/ip' "$WORK/hdr")"
}
if curl -s --interface 127.0.0.2 -o /dev/null "$H/api/v1/health_check"; then
    for i in 1 2 3; do
        r=$(login 127.0.0.2 two wrong-$i)
        [ "${r% *}" = 401 ] || fail "failed sign-in $i of 3 as two from 127.0.0.2: got '$r', expected 401"
    done
    for i in 1 2; do
        r=$(login 127.0.0.2 one pw-one)
        [ "${r% *}" = 429 ] || fail "sign-in as one from 127.0.0.2 after 3 failures there: got '$r', expected 429"
    done
    ra=${r#* }
    [ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 10 ] || fail "login 429 without a Retry-After of 1-10 s: '$ra'"
    grep -q 'too many failed sign-ins from ip:127.0.0.2 (login_rate 0.1/s, burst 3)' "$WORK/resp" ||
        fail "login 429 body: $(cat "$WORK/resp")"
    r=$(login 127.0.0.3 two pw-two)
    [ "${r% *}" = 429 ] || fail "two's right password from a fresh address after 3 failures for two: got '$r', expected 429"
    grep -q 'too many failed sign-ins for user:two' "$WORK/resp" || fail "login 429 body: $(cat "$WORK/resp")"
    r=$(login 127.0.0.3 one pw-one)
    [ "${r% *}" = 200 ] || fail "one from 127.0.0.3 (neither charged): got '$r', expected 200"
    n=$(grep -c 'ip:127.0.0.2 is over the sign-in limit' "$WORK/coord.log" || true)
    [ "$n" = 1 ] || fail "2 refused sign-ins from 127.0.0.2 logged $n times (expected once)"
    curl -s -o "$WORK/audit" -H 'Authorization: Bearer UITOKEN' "$H/api/audit?limit=1000"
    jcheck 'any(.[]; .action == "login" and .who == "one" and .address == "127.0.0.2" and .result == "refused" and .status == 429)' <"$WORK/audit" ||
        fail "no refused sign-in in the audit log: $(jq -c '.[:6]' "$WORK/audit")"
    jcheck 'any(.[]; .action == "login" and .who == "two" and .result == "denied" and .status == 401)' <"$WORK/audit" ||
        fail "no denied sign-in in the audit log: $(jq -c '.[:6]' "$WORK/audit")"
    ok "3 failed sign-ins: 429 + Retry-After $ra from that address and for that name (right password too), others served; logged once, audited as refused"
else
    [ "${CI:-}" != true ] || fail "cannot connect from 127.0.0.2 (CI=true)"
    echo "# SKIP: no connection from 127.0.0.2 here"
fi

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
