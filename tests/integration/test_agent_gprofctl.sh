#!/bin/bash
# test_agent_gprofctl.sh — gprofctl's agent and fleet verbs against the real agent and
# coordinator: `start --pid` locally (progress, local HTML, coordinator URL) and through the
# coordinator (--host/--service), --no-wait, `status` (text and --json), process- and host-level
# `stop`, invalid input refused by the agent, `hosts`, `requests`, `flamegraph -o`, --help pages,
# the control socket's mode, and errors that say what to do.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"

# errors before anything runs
out=$("$GPROFCTL" status 2>&1) && fail "status without an agent succeeded"
echo "$out" | grep -q "agent is not running" || fail "no hint when the agent is down: $out"
for v in start stop status hosts requests flamegraph; do
    "$GPROFCTL" "$v" --help | grep -q "^SYNOPSIS" || fail "gprofctl $v --help is not a man page"
done
"$GPROFCTL" --help | grep -q "flamegraph" || fail "verbs not listed"
out=$("$GPROFCTL" start -F 0 2>&1) && fail "-F 0 accepted"
echo "$out" | grep -q "1 to 1000" || fail "bad -F message: $out"
out=$("$GPROFCTL" hosts 2>&1) && fail "hosts without a coordinator succeeded"
echo "$out" | grep -q "GPROF_COORDINATOR" || fail "hosts: no hint: $out"
ok "usage errors and 'agent not running' say what to do; every verb has a man-page --help"

STATE=$WORK/state
start_coord "$STATE"
burn 300
A=$WPID
idle 300
B=$WPID
start_agent
HN=$HOSTNAME_
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "control socket mode is $(stat -c %a "$SOCK")"
ok "control socket is $SOCK, mode 0600"

# --- local start, waiting -----------------------------------------------------------------------
"$GPROFCTL" start --pid "$A" -d 3 -F 99 >"$WORK/start.out" 2>"$WORK/start.err" ||
    fail "gprofctl start failed: $(cat "$WORK/start.err")"
grep -q "profiling" "$WORK/start.err" || fail "no progress line: $(cat "$WORK/start.err")"
HTML=$(sed -n 's/^flame graph: //p' "$WORK/start.out")
URL=$(sed -n 's/^coordinator: //p' "$WORK/start.out")
[ -f "$HTML" ] && grep -q hot_a "$HTML" || fail "local result '$HTML' missing or without hot_a"
curl -fs "$URL" | grep -q hot_a || fail "coordinator URL '$URL' does not serve the result"
ok "gprofctl start --pid waits, then prints the local HTML ($HTML) and the coordinator URL"

# --- --no-wait, status, process-level stop of the last pid ---------------------------------------
ID=$("$GPROFCTL" start --pid "$A" --pid "$B" -d 60 --no-wait)
case "$ID" in local-*) ;; *) fail "--no-wait printed '$ID'" ;; esac
wait_for 10 '"$GPROFCTL" status | grep -q "ad hoc .*command $ID"' || fail "status does not show $ID"
"$GPROFCTL" status >"$WORK/status.txt"
for w in "continuous" "queue" "heartbeat" "spool"; do
    grep -q "$w" "$WORK/status.txt" || fail "status lacks $w: $(cat "$WORK/status.txt")"
done
"$GPROFCTL" status --json | python3 -c "import json,sys; d=json.load(sys.stdin); a=d['slots']['adhoc']; assert sorted(a['pids'])==sorted([$A,$B]) and d['heartbeat']['last_ok']>0 and 'items' in d['spool'], d" ||
    fail "status --json"
ok "--no-wait returns the id; status shows slots, queue, heartbeat and spool (text and --json)"
"$GPROFCTL" stop --pid "$A" | grep -q "removed" || fail "stop --pid"
wait_for 10 '"$GPROFCTL" status --json | python3 -c "import json,sys; a=json.load(sys.stdin)[\"slots\"][\"adhoc\"]; sys.exit(0 if a and a[\"pids\"]==[$B] else 1)"' ||
    fail "pid $A was not removed"
"$GPROFCTL" stop --pid "$B" >/dev/null
wait_for 10 '"$GPROFCTL" status --json | python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)[\"slots\"][\"adhoc\"] is None else 1)"' ||
    fail "the session did not end when its last pid was removed"
grep -q "ad hoc $ID completed" "$WORK/agent.log" || fail "the stopped session's result was not kept"
ok "gprofctl stop --pid removes pids; the session ends (result kept) when none remain"

# --- host-level stop ------------------------------------------------------------------------------
ID=$("$GPROFCTL" start -d 60 --no-wait)
wait_for 10 '"$GPROFCTL" status | grep -q "command $ID"' || fail "$ID not running"
"$GPROFCTL" stop | grep -q "ends now" || fail "stop"
wait_for 10 'grep -q "ad hoc $ID completed" "$WORK/agent.log"' || fail "host-level stop did not end $ID"
"$GPROFCTL" status --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['slots']['continuous'], d" ||
    fail "continuous profiling stopped"
ok "gprofctl stop ends the whole-host session; continuous profiling goes on"

# --- the agent refuses invalid input that gprofctl itself would not send ------------------------
python3 - "$SOCK" >"$WORK/bad.json" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"cmd":"start","pids":["abc"],"duration":5}\n')
print(s.makefile().readline())
PY
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert not d['ok'] and 'abc' in d['error'], d" "$WORK/bad.json" ||
    fail "non-numeric pid: $(cat "$WORK/bad.json")"
ok "the agent refuses a non-numeric pid: $(cat "$WORK/bad.json")"

# --- fleet mode through the coordinator --------------------------------------------------------------
export GPROF_COORDINATOR=$H
"$GPROFCTL" start --service "$SERVICE" --host "$HN" --pid "$A" -d 3 -F 49 >"$WORK/fleet.out" 2>"$WORK/fleet.err" ||
    fail "fleet start: $(cat "$WORK/fleet.out" "$WORK/fleet.err")"
grep -q "$HN .*completed .*$H/api/metrics/adhoc_flamegraph_content" "$WORK/fleet.out" ||
    fail "fleet start output: $(cat "$WORK/fleet.out")"
FURL=$(awk '{print $3}' "$WORK/fleet.out")
curl -fs "$FURL" | grep -q hot_a || fail "fleet result $FURL"
ok "gprofctl start --coordinator --host --pid: the agent ran it; result at $FURL"
"$GPROFCTL" hosts | grep -q "^$HN .*$SERVICE .*active" || fail "hosts: $("$GPROFCTL" hosts)"
"$GPROFCTL" hosts --json | python3 -c "import json,sys; l=json.load(sys.stdin); assert any(h['hostname']=='$HN' for h in l), l" ||
    fail "hosts --json"
"$GPROFCTL" requests | grep -q "^$HN " || fail "requests: $("$GPROFCTL" requests)"
RID=$("$GPROFCTL" start --service "$SERVICE" --host "$HN" -d 2 --no-wait | tail -1)
wait_for 20 '"$GPROFCTL" requests "$RID" | grep -q "$HN .*completed"' || fail "requests $RID: $("$GPROFCTL" requests "$RID")"
ok "gprofctl hosts, requests and requests ID show the fleet"
"$GPROFCTL" stop --service "$SERVICE" >/dev/null || fail "fleet stop by service"
"$GPROFCTL" flamegraph --service "$SERVICE" --since 1h -o "$WORK/svc.html" | grep -q "svc.html" || fail "flamegraph"
grep -qi '<html' "$WORK/svc.html" && grep -q hot_a "$WORK/svc.html" || fail "service flame graph lacks burn"
"$GPROFCTL" flamegraph --service "$SERVICE" --since 1h -o "$WORK/svc.col" >/dev/null
grep -q 'hot_a' "$WORK/svc.col" || fail "collapsed download"
out=$("$GPROFCTL" flamegraph --service nosuchservice -o "$WORK/x.html" 2>&1) && fail "empty service succeeded"
echo "$out" | grep -q "nosuchservice" || fail "unknown service message: $out"
ok "gprofctl flamegraph writes the service's merged flame graph (HTML, collapsed)"

stop_agent TERM
[ "$AGENT_RC" = 0 ] || fail "agent exit status $AGENT_RC"
