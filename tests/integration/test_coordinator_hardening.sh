#!/bin/bash
# test_coordinator_hardening.sh — issue 10's control-plane findings over real HTTP: completions
# only for the token's service, revocation effective on the next request, the agent's command
# limits, names with NUL / bidi controls / bad UTF-8 refused, bounded heartbeat fields, bad
# serviceName/hostname answered 400 (not an empty 500), raw ad hoc HTML sandboxed.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

STATE=$WORK/state
TOK=$(coord_admin token create --service svc --state-dir "$STATE" 2>/dev/null)
TOK2=$(coord_admin token create --service other --state-dir "$STATE" 2>/dev/null)
start_coord "$STATE" --auth on --ui-token UI --heartbeat-interval-s 5
UI=(-H "Authorization: Bearer UI")
JS=(-H 'Content-Type: application/json')

hb() { # token body -> http code (body in $WORK/resp)
    curl -s -o "$WORK/resp" -w '%{http_code}' -X POST "$H/api/metrics/heartbeat" \
        -H "Authorization: Bearer $1" "${JS[@]}" --data-binary "$2"
}
hbody() { echo "{\"hostname\":\"$1\",\"service_name\":\"$2\",\"ip_address\":\"10.0.0.1\"}"; }

# --- #7: a token of svc cannot complete a command of service other ------------------------------
[ "$(hb "$TOK2" "$(hbody h1 other)")" = 200 ] || fail "heartbeat h1/other: $(cat "$WORK/resp")"
R=$(curl -s "${UI[@]}" -X POST "$H/api/metrics/profile_request" \
    -d '{"service_name":"other","request_type":"start","duration":60,"target_hosts":{"h1":null}}')
CID=$(echo "$R" | field '.command_ids[0]')
[ -n "$CID" ] && [ "$CID" != null ] || fail "profile request: $R"
COMPLETION="{\"command_id\":\"$CID\",\"hostname\":\"h1\",\"status\":\"failed\",\"error_message\":\"forged\"}"
expect_status 404 "not found for host h1 of service svc" -X POST "$H/api/metrics/command_completion" \
    -H "Authorization: Bearer $TOK" "${JS[@]}" -d "$COMPLETION"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?service_name=other" |
    jcheck '.[0].profiling_status != "failed"' || fail "a foreign token changed the command"
expect_status 200 "" -X POST "$H/api/metrics/command_completion" -H "Authorization: Bearer $TOK2" \
    "${JS[@]}" -d "$COMPLETION"
ok "completion refused (404) for a command of another service, accepted with its own token"

# --- #13: revocation takes effect on the next request ------------------------------------------
[ "$(hb "$TOK" "$(hbody h2 svc)")" = 200 ] || fail "heartbeat before revoke"
ID=$(coord_admin token list --state-dir "$STATE" | awk '$2 == "svc" { print $1 }')
coord_admin token revoke "$ID" --state-dir "$STATE" >/dev/null
code=$(hb "$TOK" "$(hbody h2 svc)")
[ "$code" = 401 ] || fail "revoked token still accepted ($code): $(cat "$WORK/resp")"
[ "$(hb "$TOK2" "$(hbody h1 other)")" = 200 ] || fail "another token stopped working after a revoke"
ok "revoked token refused on the next request (401)"

# --- #14: the coordinator accepts exactly the agent's limits -----------------------------------
PR=(-X POST "$H/api/metrics/profile_request" "${UI[@]}")
expect_status 400 "must be 1..86400 seconds" "${PR[@]}" \
    -d '{"service_name":"other","request_type":"start","duration":86401,"target_hosts":{"h1":null}}'
expect_status 400 "must be 1..1000 Hz" "${PR[@]}" \
    -d '{"service_name":"other","request_type":"start","frequency":1001,"target_hosts":{"h1":null}}'
expect_status 200 "" "${PR[@]}" -d '{"service_name":"other","request_type":"start","duration":86400,"frequency":1000,"dry_run":true,"target_hosts":{"h1":null}}'
ok "duration and frequency limits shared with the agent (86400 s, 1000 Hz)"

# --- #17 and #4: names and heartbeat fields -----------------------------------------------------
check_hb_400() { # body needle
    local code
    code=$(hb "$TOK2" "$1")
    [ "$code" = 400 ] && grep -q -- "$2" "$WORK/resp" || fail "heartbeat $1: $code $(cat "$WORK/resp")"
}
check_hb_400 '{"hostname":"h\u0000evil","service_name":"other"}' 'U+0000'
check_hb_400 '{"hostname":"h\u202eevil","service_name":"other"}' 'U+202E'
check_hb_400 '{"hostname":"h\u2066x","service_name":"other"}' 'U+2066'
check_hb_400 "$(printf '{"hostname":"h\xff","service_name":"other"}')" 'UTF-8'
check_hb_400 "{\"hostname\":\"h1\",\"service_name\":\"other\",\"ip_address\":\"$(printf '1%.0s' $(seq 64))\"}" "ip_address' is longer than 63"
check_hb_400 "{\"hostname\":\"h1\",\"service_name\":\"other\",\"executed_command_ids\":[\"$(printf 'c%.0s' $(seq 80))\"]}" "executed_command_ids'\[0\] is longer than 79"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?service_name=other" >"$WORK/hs"
jcheck 'length == 1 and .[0].hostname == "h1"' <"$WORK/hs" || fail "a refused heartbeat created a host: $(cat "$WORK/hs")"
expect_status 400 "U+202E" -X POST "$H/api/metrics/command_completion" -H "Authorization: Bearer $TOK2" \
    "${JS[@]}" -d '{"command_id":"c\u202e1","hostname":"h1","status":"completed"}'
expect_status 400 "bidirectional" "${PR[@]}" -d '{"service_name":"o\u202eth","request_type":"start"}'
printf '# {"metadata":{"hostname":"h1"}}\n0;;app;main 1\n' >"$WORK/n.col"
make_body "$WORK/n.gz" "$(date -u +%Y-%m-%dT%H:%M:%S)" "$(printf 'h\u202eevil')" "$WORK/n.col"
r=$(upload "$WORK/n.gz" other h1 "$TOK2")
[ "${r%% *}" = 400 ] && [[ "$r" == *U+202E* ]] || fail "upload with a bidi hostname: $r"
ok "NUL, bidi controls, invalid UTF-8 and over-long fields refused with 400"

# --- #11: bad serviceName / hostname answered 400, not an empty 500 ------------------------------
expect_status 400 "invalid serviceName" "${UI[@]}" "$H/api/metrics/adhoc_flamegraph_content?serviceName=../../etc&filename=passwd"
expect_status 400 "invalid hostname" "${UI[@]}" "$H/api/metrics/html_metadata?serviceName=other&hostname=..%2F..%2Fx"
expect_status 400 "invalid hostname" "${UI[@]}" "$H/api/metrics/html_metadata?serviceName=other&hostname=a..b"
expect_status 406 "doesn't exist" "${UI[@]}" "$H/api/metrics/adhoc_flamegraph_content?serviceName=nosuch&filename=x.html"
ok "path-like serviceName and hostname refused with 400"

# --- #12: raw ad hoc HTML is sandboxed ------------------------------------------------------------
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
cat >"$WORK/p.col" <<'P'
# {"metadata":{"hostname":"h1","run_arguments":{"service_name":"other","continuous":false}},"flamegraph_html":"<html><body><script>alert(document.cookie)</script></body></html>"}
0;;app;main;work 9
P
make_body "$WORK/b.gz" "$NOW" h1 "$WORK/p.col"
r=$(upload "$WORK/b.gz" other h1 "$TOK2")
[ "${r%% *}" = 200 ] || fail "ad hoc upload: $r"
T0=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S)
T1=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%S)
FN=$(curl -s "${UI[@]}" "$H/api/metrics/adhoc_flamegraphs?serviceName=other&startTime=$T0&endTime=$T1" | jq -er '.[0].filename') ||
    fail "ad hoc list"
curl -s -D "$WORK/hdr" -o "$WORK/raw" "${UI[@]}" "$H/api/metrics/adhoc_flamegraph_content?serviceName=other&filename=$FN&raw=1"
grep -q "alert" "$WORK/raw" || fail "raw content missing"
grep -qi '^Content-Security-Policy: sandbox' "$WORK/hdr" || fail "no CSP sandbox: $(cat "$WORK/hdr")"
grep -qi '^X-Content-Type-Options: nosniff' "$WORK/hdr" || fail "no nosniff: $(cat "$WORK/hdr")"
ok "raw ad hoc HTML served with Content-Security-Policy: sandbox and nosniff"

stop_coord
