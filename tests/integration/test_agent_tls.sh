#!/bin/bash
# test_agent_tls.sh — the real agent against the coordinator on HTTPS with a test CA: with
# --ca-file its heartbeats and uploads arrive; with another CA it refuses the coordinator and
# its log says what to do (--ca-file); with --no-verify it works and warns loudly at start.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"
. "$(dirname "$0")/tls_lib.sh"

make_server srv ca 4097
STATE=$WORK/state
start_coord_tls "$STATE" "$PKI/srv.pem" "$PKI/srv.key"


# --- a wrong CA: refused, and the log says why --------------------------------------------------
start_agent --ca-file "$WRONG_CA"
wait_for 20 'grep -q "not trusted by $WRONG_CA" "$WORK/agent.log"' ||
    fail "the agent does not report the untrusted certificate: $(tail -5 "$WORK/agent.log")"
grep -q -- "--ca-file" "$WORK/agent.log" || fail "the refusal does not name --ca-file"
[ "$(coord_continuous)" = 0 ] || fail "an upload went through with the wrong CA"
"$GPROFCTL" status --json | grep -q '"last_ok": 0' || fail "a heartbeat succeeded with the wrong CA"
stop_agent
ok "wrong CA: the agent refuses the coordinator and says to pass --ca-file"

# --- the right CA: heartbeats and uploads -----------------------------------------------------
start_agent --ca-file "$CA"
wait_for 20 '"$GPROFCTL" status --json | grep -q "\"last_ok\": [1-9]"' ||
    fail "no heartbeat answered over HTTPS: $(tail -5 "$WORK/agent.log")"
wait_for 30 '[ "$(coord_continuous)" -ge 1 ]' || fail "no upload arrived over HTTPS"
stop_agent
ok "--ca-file: heartbeats and uploads over HTTPS"

# --- --no-verify ------------------------------------------------------------------------------
before=$(coord_continuous)
start_agent --no-verify
grep -q "gprof-agent: --no-verify: TLS CERTIFICATES ARE NOT VERIFIED" "$WORK/agent.log" ||
    fail "--no-verify is not warned about"
wait_for 30 '[ "$(coord_continuous)" -gt "$before" ]' || fail "no upload with --no-verify"
stop_agent
ok "--no-verify: works, with a loud warning"
