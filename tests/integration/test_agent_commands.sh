#!/bin/bash
# test_agent_commands.sh — dynamic profiling end to end with the real agent and coordinator: a
# profile_request for a pid is picked up at the next heartbeat and runs in the ad hoc slot while
# continuous profiling goes on; its flame graph is listed and fetched and the completion carries
# results_path; process-level stop removes pids (the session ends when none remain); host-level
# stop ends command-started profiling; parameters beyond the agent's limits are refused at the coordinator;
# target_hostnames is honoured.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"

STATE=$WORK/state
start_coord "$STATE"
burn 120
A=$WPID
idle 120
B=$WPID
start_agent
HN=$HOSTNAME_
T0=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%S)
T1=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S)
wait_for 20 '"$GPROFCTL" status --json | grep -q "\"last_ok\": [1-9]"' || fail "no heartbeat answered"

# --- ad hoc for one pid, beside continuous profiling ------------------------------------------
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"duration\":20,\"frequency\":99,\"target_hosts\":{\"$HN\":[$A]}}")
R1=$(echo "$R" | field 'd["request_id"]')
C1=$(echo "$R" | field 'd["command_ids"][0]')
wait_for 10 'grep -q "ad hoc $C1 started" "$WORK/agent.log"' || fail "command $C1 not started within 10 s"
ok "the profile_request is picked up at the next heartbeat"
n_at_start=$(local_sessions)
"$GPROFCTL" status --json >"$WORK/st.json"
python3 - "$WORK/st.json" "$C1" "$A" <<'PY' || fail "status during the ad hoc session: $(cat "$WORK/st.json")"
import json, sys
d = json.load(open(sys.argv[1]))
c, a = d["slots"]["continuous"], d["slots"]["adhoc"]
assert c and c["source"] == "config", c
assert a and a["command_id"] == sys.argv[2] and a["pids"] == [int(sys.argv[3])], a
assert a["frequency"] == 99 and a["duration"] == 20, a
PY
ok "it runs in the ad hoc slot while the continuous slot keeps running"
wait_for 45 '[ "$(exec_field "$R1" "e.get(\"status\")")" = completed ]' ||
    fail "request $R1 not completed: $(req_json "$R1")"
URL=$(exec_field "$R1" 'e["results_path"]')
case "$URL" in "$H/api/metrics/adhoc_flamegraph_content?"*) ;; *) fail "results_path is '$URL'" ;; esac
ET=$(exec_field "$R1" 'e["execution_time"]')
[ "$ET" -ge 19 ] && [ "$ET" -le 22 ] || fail "execution_time $ET for a 20 s session"
[ "$(local_sessions)" -gt "$n_at_start" ] || fail "continuous sessions stopped during the ad hoc session"
ok "completion: completed, execution_time $ET s, results_path $URL"

FN=${URL##*filename=}
curl -s "$H/api/metrics/adhoc_flamegraphs?serviceName=$SERVICE&startTime=$T0&endTime=$T1" >"$WORK/list.json"
python3 -c "import json,sys; l=json.load(open(sys.argv[1])); assert any(x['filename']==sys.argv[2] and x['hostname']==sys.argv[3] for x in l), l" \
    "$WORK/list.json" "$FN" "$HN" || fail "ad hoc flame graph not listed: $(cat "$WORK/list.json")"
curl -fs "$URL" >"$WORK/fg.json" || fail "cannot fetch $URL"
python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['content']; assert '<html' in c.lower() and 'hot_a' in c, c[:200]" \
    "$WORK/fg.json" || fail "fetched flame graph lacks burn's hot_a"
ok "the ad hoc flame graph is listed and fetched (it shows burn's hot_a)"
ADCOL=$(ls "$ASTATE"/adhoc/results/profile_*.col | head -1)
awk -F';' '!/^# / && NF { if ($3 != "burn") bad++ } END { exit bad ? 1 : 0 }' "$ADCOL" ||
    fail "the ad hoc profile has processes other than the target: $(grep -v '^#' "$ADCOL" | cut -d';' -f3 | sort -u | head)"
head -1 "$ADCOL" | grep -q '"continuous":false' || fail "ad hoc header should say continuous false"
ok "the ad hoc result holds only the target and is kept on the host ($ADCOL)"

# --- process-level stop: remove one pid, then the other -------------------------------------
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"duration\":60,\"frequency\":49,\"target_hosts\":{\"$HN\":[$A,$B]}}")
C2=$(echo "$R" | field 'd["command_ids"][0]')
wait_for 10 'grep -q "ad hoc $C2 started" "$WORK/agent.log"' || fail "$C2 not started"
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"stop\",\"stop_level\":\"process\",\"target_hosts\":{\"$HN\":[$A]}}")
echo "$R" | grep -q '"success":true' || fail "process stop refused: $R"
C3=$(echo "$R" | field 'd["command_ids"][0]')
wait_for 10 'grep -q "stopped profiling pid $A" "$WORK/agent.log"' || fail "pid $A not removed"
"$GPROFCTL" status --json | python3 -c "import json,sys; a=json.load(sys.stdin)['slots']['adhoc']; assert a and a['pids']==[$B], a" ||
    fail "after removing $A the session should profile only $B"
ok "a process-level stop removes the pid from the running session ($C3 continues it with $B)"
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"stop\",\"stop_level\":\"process\",\"target_hosts\":{\"$HN\":[$B]}}")
wait_for 10 'grep -qE "ad hoc ($C2|$C3) completed after" "$WORK/agent.log"' ||
    fail "the session did not end when its last pid was removed"
secs=$(grep -oE "ad hoc ($C2|$C3) completed after [0-9.]+" "$WORK/agent.log" | awk '{print int($NF)}')
[ "$secs" -lt 40 ] || fail "the session ran $secs s; it should have ended at the stop"
"$GPROFCTL" status --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['slots']['adhoc'] is None and d['slots']['continuous'], d['slots']" ||
    fail "ad hoc slot should be idle, continuous running"
ok "when no pid remains the session ends ($secs s of 60) and continuous profiling goes on"

# --- host-level stop of a whole-host session ----------------------------------------------------
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"duration\":60,\"frequency\":11,\"target_hosts\":{\"$HN\":null}}")
C4=$(echo "$R" | field 'd["command_ids"][0]')
wait_for 10 'grep -q "ad hoc $C4 started" "$WORK/agent.log"' || fail "$C4 not started"
sleep 1
n_before=$(local_sessions)
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"stop\",\"stop_level\":\"host\",\"target_hosts\":{\"$HN\":null}}")
C5=$(echo "$R" | field 'd["command_ids"][0]')
wait_for 10 'grep -q "host-level stop $C5" "$WORK/agent.log" && grep -q "ad hoc $C4 completed after" "$WORK/agent.log"' ||
    fail "host-level stop did not end $C4"
wait_for 10 '[ "$(local_sessions)" -gt "$n_before" ]' || fail "continuous profiling stopped with the host-level stop"
ok "a host-level stop ends command-started profiling; configured continuous profiling goes on"

# --- parameters beyond the agent's limits are refused at the coordinator ------------------------
# The coordinator applies the agent's own limits (common/cmd_limits.h), so such a command never
# reaches a host; the agent's own refusal of them is covered by unit_cmdmgr.
for bad in '"frequency":5000:frequency' '"duration":100000:duration'; do
    kv=${bad%:*}
    word=${bad##*:}
    code=$(curl -s -o "$WORK/bad.json" -w '%{http_code}' -X POST "$H/api/metrics/profile_request" \
        -H 'Content-Type: application/json' \
        -d "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",${kv},\"target_hosts\":{\"$HN\":[$A]}}")
    msg=$(cat "$WORK/bad.json")
    [ "$code" = 400 ] || fail "$kv answered $code: $msg"
    echo "$msg" | grep -q "$word" || fail "error message '$msg' does not name $word"
    ok "$kv refused by the coordinator: $msg"
done

# --- target_hostnames ----------------------------------------------------------------------------
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"duration\":5,\"target_hosts\":{\"$HN\":[$A]},\"additional_args\":{\"target_hostnames\":[\"some-other-host\"]}}")
C6=$(echo "$R" | field 'd["command_ids"][0]')
wait_for 10 'grep -q "command $C6 is not for this host" "$WORK/agent.log"' || fail "target_hostnames ignored"
sleep 2
if grep -q "ad hoc $C6 started" "$WORK/agent.log"; then fail "$C6 ran on a host it does not target"; fi
ok "a command whose target_hostnames exclude this host is skipped"

# --- a continuous command replaces the configured sessions until a host-level stop ------------
request "{\"service_name\":\"$SERVICE\",\"request_type\":\"stop\",\"stop_level\":\"host\",\"target_hosts\":{\"$HN\":null}}" >/dev/null
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"continuous\":true,\"duration\":4,\"frequency\":29,\"target_hosts\":{\"$HN\":null}}")
RC7=$(echo "$R" | field 'd["request_id"]')
C7=$(echo "$R" | field 'd["command_ids"][0]')
cont_is() { # COMMAND_ID|config FREQ
    "$GPROFCTL" status --json | python3 -c "import json,sys
c = json.load(sys.stdin)['slots']['continuous']
sys.exit(0 if c and (c['command_id'] or 'config') == '$1' and c['frequency'] == $2 else 1)"
}
wait_for 15 'cont_is "$C7" 29' || fail "continuous command $C7 did not take over: $("$GPROFCTL" status --json)"
wait_for 15 '[ "$(exec_field "$RC7" "e.get(\"status\")")" = completed ]' || fail "$C7 not reported: $(req_json "$RC7")"
exec_field "$RC7" 'e["results_path"]' | grep -q "/api/flamegraph?serviceName=$SERVICE" || fail "results_path of $C7"
n_before=$(local_sessions)
wait_for 15 '[ "$(local_sessions)" -gt "$n_before" ]' || fail "no session under the continuous command"
head -1 "$ASTATE/results/last_profile.col" | grep -q '"sampling_frequency":29' || fail "sessions not at 29 Hz"
request "{\"service_name\":\"$SERVICE\",\"request_type\":\"stop\",\"stop_level\":\"host\",\"target_hosts\":{\"$HN\":null}}" >/dev/null
wait_for 15 'cont_is config 11' || fail "after the host-level stop the configured 11 Hz sessions did not resume"
ok "a continuous command runs its own sessions (29 Hz); a host-level stop returns to the configuration"

stop_agent TERM
[ "$AGENT_RC" = 0 ] || fail "agent exit status $AGENT_RC"
