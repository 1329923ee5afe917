#!/bin/bash
# test_coordinator_users.sh — people and permissions on a real coordinator (auth on): the user
# commands; anonymous -> 401; a viewer starting profiling -> 403; an operator limited to service A
# touching B -> 403 (and B missing from its lists); a cookie session's state change without its
# CSRF token -> 403 (with it: accepted); a revoked user token -> 401; agent tokens only on agent
# endpoints and user tokens never there; the trusted proxy header only from trusted_proxies;
# ui_token still an admin; and every refused attempt found in GET /api/audit.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"
S=$WORK/state
mkdir -p "$S"
user() { coord_admin user "$@" --state-dir "$S"; }

# ---- the user commands -------------------------------------------------------------------
echo 'adm-pass' | user add boss --role admin >/dev/null || fail "user add admin"
echo 'view-pass' | user add vic --role viewer >/dev/null || fail "user add viewer"
echo 'op-pass' | user add ops --role operator --services svcA >/dev/null || fail "user add operator"
if echo 'x' | user add ops --role viewer 2>"$WORK/err" >/dev/null; then fail "duplicate user added"; fi
grep -q "exists" "$WORK/err" || fail "duplicate user: unclear message: $(cat "$WORK/err")"
if echo 'x' | user add eve --role root 2>/dev/null >/dev/null; then fail "role root accepted"; fi
if user add eve --role viewer </dev/null 2>/dev/null >/dev/null; then fail "empty password accepted"; fi
user list >"$WORK/list"
grep -Eq '^ops +operator .* svcA$' "$WORK/list" || fail "user list: $(cat "$WORK/list")"
grep -Eq '^vic +viewer .* \*$' "$WORK/list" || fail "user list: $(cat "$WORK/list")"
ADM=$(user token boss 2>/dev/null | tail -1)
VIEW=$(user token vic 2>/dev/null | tail -1)
OPS=$(user token ops 2>/dev/null | tail -1)
for t in "$ADM" "$VIEW" "$OPS"; do [[ $t =~ ^gpu_[0-9a-f]{64}$ ]] || fail "user token printed '$t'"; done
AGENT=$(coord_admin token create --service svcA --state-dir "$S" 2>/dev/null | tail -1)
coord_admin token create --service svcB --state-dir "$S" >/dev/null 2>&1
ok "user add / list / token"

start_coord "$S" --auth on --ui-token UITOKEN-0123456789 --trusted-proxy-header X-Forwarded-User \
    --trusted-proxies 127.0.0.2
code() { curl -s -o "$WORK/resp" -w '%{http_code}' "$@"; }
start_body() { printf '{"service_name":"%s","request_type":"start","duration":60,"target_hosts":{"%s":null}}' "$1" "$2"; }

# ---- 401 / 403 -----------------------------------------------------------------------------
expect_status 401 "authentication required" "$H/api/services"
expect_status 401 "authentication required" -X POST "$H/api/metrics/profile_request" -d "$(start_body svcA h1)"
expect_status 200 '"role":"viewer"' -H "Authorization: Bearer $VIEW" "$H/api/me"
expect_status 403 "needs the operator role" -H "Authorization: Bearer $VIEW" \
    -X POST "$H/api/metrics/profile_request" -d "$(start_body svcA h1)"
expect_status 200 '"success":true' -H "Authorization: Bearer $OPS" \
    -X POST "$H/api/metrics/profile_request" -d "$(start_body svcA h1)"
expect_status 403 "may not see or act on service 'svcB'" -H "Authorization: Bearer $OPS" \
    -X POST "$H/api/metrics/profile_request" -d "$(start_body svcB h2)"
expect_status 403 "svcB" -H "Authorization: Bearer $OPS" -X POST \
    "$H/api/metrics/profile_request/bulk" -d "{\"requests\":[$(start_body svcA h1),$(start_body svcB h2)]}"
expect_status 403 "svcB" -H "Authorization: Bearer $OPS" "$H/api/flamegraph?serviceName=svcB"
expect_status 403 "svcB" -H "Authorization: Bearer $OPS" \
    "$H/api/flamegraph/diff?serviceName=svcA&compareServiceName=svcB&startTime=2026-01-01T00:00:00&endTime=2026-01-02T00:00:00"
expect_status 403 "svcB" -H "Authorization: Bearer $OPS" \
    "$H/api/metrics/adhoc_flamegraph_content?serviceName=svcB&filename=x.html"
expect_status 403 "svcB" -H "Authorization: Bearer $OPS" "$H/api/metrics/html_metadata?serviceName=svcB&hostname=h2"
[ "$(code -H "Authorization: Bearer $OPS" "$H/api/settings")" = 200 ] || fail "operator settings: $(cat "$WORK/resp")"
jcheck '.sample_thresholds | keys == ["svcA"]' <"$WORK/resp" || fail "operator sees other services' settings: $(cat "$WORK/resp")"
[ "$(code -H "Authorization: Bearer $OPS" "$H/api/services")" = 200 ] || fail "operator services: $(cat "$WORK/resp")"
jcheck 'map(.name) == ["svcA"]' <"$WORK/resp" || fail "operator sees other services: $(cat "$WORK/resp")"
[ "$(code -H "Authorization: Bearer $VIEW" "$H/api/services")" = 200 ] || fail "viewer services"
jcheck 'map(.name) | sort == ["svcA","svcB"]' <"$WORK/resp" || fail "viewer services: $(cat "$WORK/resp")"
expect_status 403 "needs the admin role" -H "Authorization: Bearer $OPS" -X PUT "$H/api/settings" \
    -d '{"retention_days": 7}'
expect_status 200 "retention_days" -H "Authorization: Bearer $ADM" -X PUT "$H/api/settings" \
    -d '{"retention_days": 7}'
ok "anonymous 401, viewer 403, operator of svcA 403 on svcB, admin-only settings"

# ---- agent tokens stay on agent endpoints ------------------------------------------------------
expect_status 401 "agent token only reaches the agent endpoints" -H "Authorization: Bearer $AGENT" "$H/api/services"
expect_status 401 "" -H "Authorization: Bearer $ADM" -X POST "$H/api/metrics/heartbeat" \
    -d '{"hostname":"h1","ip_address":"10.0.0.1","service_name":"svcA","status":"active"}'
expect_status 200 "" -H "Authorization: Bearer $AGENT" -X POST "$H/api/metrics/heartbeat" \
    -d '{"hostname":"h1","ip_address":"10.0.0.1","service_name":"svcA","status":"active"}'
ok "agent token 401 on the control API, user token 401 on an agent endpoint"

# ---- sessions + CSRF ---------------------------------------------------------------------------
expect_status 401 "wrong user name or password" -X POST "$H/api/login" -d '{"name":"ops","password":"nope"}'
code -c "$WORK/jar" -D "$WORK/hdr" -X POST "$H/api/login" -d '{"name":"ops","password":"op-pass"}' >"$WORK/st"
[ "$(cat "$WORK/st")" = 200 ] || fail "login: $(cat "$WORK/resp")"
grep -i '^set-cookie: gprof_session=gps_' "$WORK/hdr" | grep -qi 'HttpOnly; SameSite=Strict' ||
    fail "session cookie flags: $(grep -i set-cookie "$WORK/hdr")"
if grep -i '^set-cookie:' "$WORK/hdr" | grep -qi secure; then fail "Secure cookie on plain HTTP"; fi
CSRF=$(field .csrf_token <"$WORK/resp")
[[ $CSRF =~ ^gpc_ ]] || fail "no csrf_token in $(cat "$WORK/resp")"
expect_status 200 '"via":"session"' -b "$WORK/jar" "$H/api/me"
expect_status 403 "X-CSRF-Token" -b "$WORK/jar" -X POST "$H/api/metrics/profile_request" -d "$(start_body svcA h1)"
expect_status 403 "X-CSRF-Token" -b "$WORK/jar" -H "X-CSRF-Token: gpc_wrong" \
    -X POST "$H/api/metrics/profile_request" -d "$(start_body svcA h1)"
expect_status 200 '"success":true' -b "$WORK/jar" -H "X-CSRF-Token: $CSRF" \
    -X POST "$H/api/metrics/profile_request" -d "$(start_body svcA h1)"
expect_status 200 "signed out" -b "$WORK/jar" -X POST "$H/api/logout"
expect_status 401 "sign in again" -b "$WORK/jar" "$H/api/me"
ok "login sets an HttpOnly SameSite=Strict cookie; no CSRF token -> 403; logout ends the session"

# ---- revocation ------------------------------------------------------------------------------
user tokens ops >"$WORK/toks"
TID=$(awk '$2 == "ops" {print $1; exit}' "$WORK/toks")
[ -n "$TID" ] || fail "user tokens: $(cat "$WORK/toks")"
user revoke-token "$TID" >/dev/null || fail "revoke-token $TID"
expect_status 401 "revoked" -H "Authorization: Bearer $OPS" "$H/api/services"
ok "revoked user token -> 401"

# ---- trusted proxy header, ui_token --------------------------------------------------------
if curl -s --interface 127.0.0.2 -o /dev/null "$H/api/v1/health_check"; then
    expect_status 200 '"via":"proxy"' --interface 127.0.0.2 -H 'X-Forwarded-User: vic' "$H/api/me"
    expect_status 401 "" --interface 127.0.0.2 -H 'X-Forwarded-User: nobody' "$H/api/me"
    ok "proxy header honoured from 127.0.0.2"
else
    fail "cannot send from 127.0.0.2 (loopback /8) to test the trusted proxy"
fi
expect_status 401 "authentication required" -H 'X-Forwarded-User: boss' "$H/api/me"
expect_status 200 '"role":"admin"' -H "Authorization: Bearer UITOKEN-0123456789" "$H/api/me"
ok "proxy header ignored from an untrusted address; ui_token is an admin"

# ---- the audit log ---------------------------------------------------------------------------
expect_status 403 "admin" -H "Authorization: Bearer $VIEW" "$H/api/audit"
[ "$(code -H "Authorization: Bearer $ADM" "$H/api/audit?limit=1000")" = 200 ] || fail "audit: $(cat "$WORK/resp")"
A=$WORK/audit.json
cp "$WORK/resp" "$A"
has() { jcheck "any(.[]; $1)" <"$A" || fail "audit log lacks $1: $(jq -c '.[:8]' "$A")"; }
has '.who == "anonymous" and .status == 401 and .action == "GET /api/services"'
has '.who == "vic" and .status == 403 and .action == "POST /api/metrics/profile_request"'
has '.who == "ops" and .status == 403 and .target == "svcB"'
has '.who == "ops" and .status == 403 and (.detail | test("CSRF"))'
has '.who == "anonymous" and .status == 401 and (.detail | test("revoked"))'
has '.who == "ops" and .result == "ok" and .action == "profile_request start" and .target == "svcA: h1"'
has '.who == "ops" and .action == "login" and .result == "denied"'
has '.who == "ops" and .action == "login" and .result == "ok"'
has '.who == "boss" and .action == "settings" and .result == "ok"'
has '(.who | startswith("cli:")) and .action == "user revoke-token"'
has '(.who | startswith("cli:")) and .action == "user add" and .target == "ops"'
has '.address == "127.0.0.2" and .who == "anonymous" and .status == 401'
jcheck 'all(.[]; .time | test("^20[0-9-]+T[0-9:]+Z$"))' <"$A" || fail "audit times"
[ "$(code -H "Authorization: Bearer $ADM" "$H/api/audit?limit=2")" = 200 ] && jcheck 'length == 2' <"$WORK/resp" ||
    fail "audit limit"
[ "$(code -H "Authorization: Bearer $ADM" "$H/api/audit?since=2999-01-01T00:00:00")" = 200 ] &&
    jcheck 'length == 0' <"$WORK/resp" || fail "audit since"
ok "every refused attempt and every action is in GET /api/audit"
CTL=$BIN/cli/gprofctl
"$CTL" audit --coordinator "$H" --token "$ADM" --since 1h >"$WORK/audit.txt" || fail "gprofctl audit"
head -1 "$WORK/audit.txt" | grep -q '^TIME  *WHO  *ADDRESS  *ACTION' || fail "gprofctl audit header: $(head -1 "$WORK/audit.txt")"
grep -Eq ' vic +127\.0\.0\.1 +POST /api/metrics/profile_request .* denied ' "$WORK/audit.txt" ||
    fail "gprofctl audit table: $(cat "$WORK/audit.txt")"
"$CTL" audit --coordinator "$H" --token "$ADM" --limit 3 --json >"$WORK/audit2.json" || fail "gprofctl audit --json"
jcheck 'length == 3 and all(.[]; has("who") and has("result"))' <"$WORK/audit2.json" || fail "gprofctl audit --json: $(cat "$WORK/audit2.json")"
if "$CTL" audit --coordinator "$H" --token "$VIEW" 2>"$WORK/err" >/dev/null; then fail "gprofctl audit as a viewer"; fi
grep -q "admin" "$WORK/err" || fail "gprofctl audit as viewer: $(cat "$WORK/err")"
ok "gprofctl audit (table, --json; a viewer is refused)"

# ---- admin endpoints: users and their tokens over HTTP (the UI's Users page) ----------------
J=(-H 'Content-Type: application/json')
expect_status 403 "needs the admin role" -H "Authorization: Bearer $VIEW" "$H/api/users"
expect_status 401 "authentication required" "$H/api/users"
[ "$(code -H "Authorization: Bearer $ADM" "$H/api/users")" = 200 ] || fail "GET /api/users: $(cat "$WORK/resp")"
jcheck '[.users[].name] == ["boss","ops","vic"] and (.users[] | select(.name == "ops") | .role == "operator" and .services == ["svcA"])' \
    <"$WORK/resp" || fail "GET /api/users lists: $(cat "$WORK/resp")"
jcheck '.users[] | select(.name == "vic") | .tokens | length >= 1 and all(.[]; .prefix | startswith("gpu_"))' \
    <"$WORK/resp" || fail "GET /api/users tokens: $(cat "$WORK/resp")"
expect_status 403 "needs the admin role" -H "Authorization: Bearer $VIEW" "${J[@]}" -X POST "$H/api/users" \
    -d '{"name":"mal","password":"x","role":"admin"}'
expect_status 201 '"role":"viewer"' -H "Authorization: Bearer $ADM" "${J[@]}" -X POST "$H/api/users" \
    -d '{"name":"newbie","password":"nb-pass","role":"viewer","services":["svcA"]}'
expect_status 409 "exists" -H "Authorization: Bearer $ADM" "${J[@]}" -X POST "$H/api/users" \
    -d '{"name":"newbie","password":"nb-pass","role":"viewer"}'
expect_status 400 "role must be" -H "Authorization: Bearer $ADM" "${J[@]}" -X POST "$H/api/users" \
    -d '{"name":"eve","password":"x","role":"root"}'
expect_status 200 '"csrf_token"' -X POST "$H/api/login" -d '{"name":"newbie","password":"nb-pass"}'
expect_status 200 '"services":\["svcA","svcB"\]' -H "Authorization: Bearer $ADM" "${J[@]}" -X PUT \
    "$H/api/users/newbie" -d '{"role":"operator","services":["svcA","svcB"]}'
expect_status 404 "no user 'ghost'" -H "Authorization: Bearer $ADM" "${J[@]}" -X PUT "$H/api/users/ghost" -d '{"role":"viewer"}'
expect_status 409 "your own role" -H "Authorization: Bearer $ADM" "${J[@]}" -X PUT "$H/api/users/boss" -d '{"role":"viewer"}'
expect_status 409 "remove yourself" -H "Authorization: Bearer $ADM" -X DELETE "$H/api/users/boss"
[ "$(code -H "Authorization: Bearer $ADM" -X POST "$H/api/users/newbie/tokens")" = 201 ] || fail "POST tokens: $(cat "$WORK/resp")"
NBT=$(field .token <"$WORK/resp")
NBID=$(field .id <"$WORK/resp")
[[ $NBT =~ ^gpu_[0-9a-f]{64}$ ]] || fail "new token over HTTP: $(cat "$WORK/resp")"
expect_status 200 '"role":"operator"' -H "Authorization: Bearer $NBT" "$H/api/me"
expect_status 404 "has no token" -H "Authorization: Bearer $ADM" -X DELETE "$H/api/users/vic/tokens/$NBID"
expect_status 200 '"revoked_at":"20' -H "Authorization: Bearer $ADM" -X DELETE "$H/api/users/newbie/tokens/$NBID"
expect_status 401 "revoked" -H "Authorization: Bearer $NBT" "$H/api/me"
# a cookie session of an admin needs its CSRF token for these too
curl -s -c "$WORK/jar" -o "$WORK/login" -X POST "$H/api/login" -d '{"name":"boss","password":"adm-pass"}'
CS=$(field .csrf_token <"$WORK/login")
expect_status 403 "CSRF" -b "$WORK/jar" -X DELETE "$H/api/users/newbie"
expect_status 200 "user remove done" -b "$WORK/jar" -H "X-CSRF-Token: $CS" -X DELETE "$H/api/users/newbie"
expect_status 404 "no user" -b "$WORK/jar" -H "X-CSRF-Token: $CS" -X DELETE "$H/api/users/newbie"
[ "$(code -H "Authorization: Bearer $ADM" "$H/api/audit?limit=40")" = 200 ] || fail "audit after admin calls"
for want in '.action == "user add" and .target == "newbie" and .result == "ok" and .who == "boss"' \
    '.action == "user set" and .target == "newbie" and .result == "ok"' \
    '.action == "user token" and .target == "newbie" and .status == 201' \
    '.action == "user token revoke" and .result == "ok"' \
    '.action == "user remove" and .target == "newbie" and .result == "ok"' \
    '.action == "user set" and .target == "boss" and .result == "denied"' \
    '.who == "vic" and .action == "POST /api/users" and .status == 403'; do
    jcheck "any(.[]; $want)" <"$WORK/resp" || fail "audit log lacks $want: $(jq -c '.[:6]' "$WORK/resp")"
done
ok "admin endpoints: list, add, set role and services, tokens made and revoked, remove; CSRF; audited"

# ---- passwd / remove while serving ---------------------------------------------------------------
echo 'new-pass' | user passwd vic >/dev/null || fail "user passwd"
expect_status 401 "" -X POST "$H/api/login" -d '{"name":"vic","password":"view-pass"}'
expect_status 200 "csrf_token" -X POST "$H/api/login" -d '{"name":"vic","password":"new-pass"}'
user remove vic >/dev/null || fail "user remove"
expect_status 401 "" -H "Authorization: Bearer $VIEW" "$H/api/me"
if user remove vic 2>/dev/null; then fail "removing a missing user succeeded"; fi
ok "user passwd and user remove take effect at once"
stop_coord
echo "PASS"
