#!/bin/bash
# test_coordinator_basic_auth.sh — ui_basic_auth guards the control and query API: the right
# user:password passes, a wrong one, a truncated or non-base64 header, or none answer 401; agent
# endpoints keep needing an agent token.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"
start_coord "$WORK/state" --auth on --ui-basic-auth 'alice:s3cr=t:x'
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code -u 'alice:s3cr=t:x' "$H/api/services")" != 401 ] || fail "right user:password refused"
for bad in "alice:wrong" "alice:" "bob:s3cr=t:x"; do
    [ "$(code -u "$bad" "$H/api/services")" = 401 ] || fail "wrong credentials '$bad' accepted"
done
[ "$(code -H 'Authorization: Basic %%%' "$H/api/services")" = 401 ] || fail "non-base64 accepted"
[ "$(code -H 'Authorization: Basic YWxpY2U6czNjcj10' "$H/api/services")" = 401 ] || fail "truncated base64 accepted"
[ "$(code "$H/api/services")" = 401 ] || fail "no credentials accepted"
[ "$(code -u 'alice:s3cr=t:x' -X POST "$H/api/metrics/heartbeat" -d '{}')" = 401 ] || fail "agent endpoint took UI credentials"
ok "basic auth"
stop_coord
echo "PASS"
