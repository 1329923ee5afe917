#!/bin/bash
# test_coordinator_origin.sh — issue 10 #5 and #18 against a real coordinator with auth off (the
# loopback default): a text/plain POST from a foreign Origin is refused (403) and changes nothing,
# a foreign Host (DNS rebinding) is refused (421), same-origin and Origin-less requests work;
# allowed_hosts / allowed_origins widen that; startup says loudly that auth is off. A ?key= never
# reaches the log, and an out-of-range gpid is refused with 400.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

start_coord "$WORK/state" --log-level debug
grep -q "AUTH IS OFF: auth = auto .*reverse proxy" "$WORK/coord.log" || fail "no loud warning that auth is off"
ok "startup warns that auth is off and why"

settings() { curl -s "$H/api/settings" | field .retention_days; }
before=$(settings)
expect_status 403 "cross-origin POST refused" -X POST "$H/api/settings" -H 'Content-Type: text/plain' \
    -H 'Origin: http://evil.example' -d '{"retention_days": 3}'
expect_status 403 "allowed_origins" -X PUT "$H/api/settings" -H 'Origin: null' -d '{"retention_days": 3}'
expect_status 403 "" -X POST "$H/api/metrics/profile_request" -H 'Content-Type: text/plain' \
    -H "Origin: http://127.0.0.1:1" \
    -d '{"service_name":"svc","request_type":"start","target_hosts":{"h":null},"duration":60}'
[ "$(settings)" = "$before" ] || fail "a refused cross-origin request changed the settings"
ok "foreign Origin: 403, nothing changed"

expect_status 421 "allowed_hosts" "$H/api/services" -H "Host: rebind.example:$PORT"
expect_status 421 "" -X POST "$H/api/settings" -H "Host: rebind.example:$PORT" \
    -H "Origin: http://rebind.example:$PORT" -d '{"retention_days": 3}'
[ "$(settings)" = "$before" ] || fail "a rebinding request changed the settings"
ok "foreign Host: 421"

expect_status 200 "" -X PUT "$H/api/settings" -H "Origin: http://127.0.0.1:$PORT" -d '{"retention_days": 7}'
[ "$(settings)" = 7 ] || fail "same-origin PUT did not apply"
expect_status 200 "" -X PUT "$H/api/settings" -H "Host: localhost:$PORT" -H "Origin: http://localhost:$PORT" \
    -d '{"retention_days": 8}'
expect_status 200 "" -X PUT "$H/api/settings" -d '{"retention_days": 9}'
expect_status 200 "ok" "$H/api/v1/health_check" -H "Host: localhost"
ok "same origin, localhost and Origin-less requests pass"

# an agent upload with the token in the URL (gProfiler does this): accepted, never logged
cat >"$WORK/p.col" <<'P'
# {"metadata":{"hostname":"h1"}}
0;;python;main;foo 3
P
make_body "$WORK/body.gz" 2026-01-01T00:00:00 h1 "$WORK/p.col"
r=$(upload "$WORK/body.gz" svc h1 SECRETKEY123)
[ "${r%% *}" = 200 ] || fail "upload with ?key=: $r"
grep -q "key=REDACTED" "$WORK/coord.log" || fail "the access log shows no (redacted) query"
! grep -q SECRETKEY123 "$WORK/coord.log" || fail "the token reached the log: $(grep SECRETKEY123 "$WORK/coord.log" | head -2)"
ok "?key= is redacted in the log"

python3 - "$WORK/big.gz" <<'PY'
import gzip, json, sys
body = {"start_time": "2026-01-01T00:00:00", "end_time": "2026-01-01T00:00:00", "hostname": "h1",
        "profile": "# {\"metadata\":{}}\n0;;a;b 1", "cpu_avg": 1, "mem_avg": 1, "spawn_time": "2026-01-01T00:00:00",
        "gpid": "9223372036854775808"}
open(sys.argv[1], "wb").write(gzip.compress(json.dumps(body).encode()))
PY
r=$(upload "$WORK/big.gz" svc h1 t)
[ "${r%% *}" = 400 ] || fail "out-of-range gpid: expected 400, got $r"
grep -q "gpid must be an integer" <<<"$r" || fail "400 lacks its reason: $r"
ok "out-of-range gpid: 400"
stop_coord

# configured names and origins
start_coord "$WORK/state2" --allowed-hosts "prof.example" --allowed-origins "https://prof.example"
expect_status 200 "ok" "$H/api/v1/health_check" -H "Host: prof.example"
expect_status 200 "" -X PUT "$H/api/settings" -H "Host: prof.example" -H "Origin: https://prof.example" \
    -d '{"retention_days": 5}'
expect_status 421 "" "$H/api/v1/health_check" -H "Host: other.example"
ok "allowed_hosts and allowed_origins"
stop_coord
echo "PASS"
