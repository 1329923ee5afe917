#!/bin/bash
# test_agent_restart.sh — durability with the real agent and coordinator: an agent killed (-9)
# in the middle of an ad hoc command and restarted never runs that command again (it reports it
# failed instead); with the coordinator stopped for three sessions, and with the agent also
# restarted while uploads wait in its spool, every session still arrives exactly once; a command
# completion that could not be sent is kept in the state directory across an agent restart and
# arrives exactly once when the coordinator is back.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"

STATE=$WORK/state
start_coord "$STATE"
burn 300
A=$WPID
start_agent
HN=$HOSTNAME_
wait_for 20 '"$GPROFCTL" status --json | grep -q "\"last_ok\": [1-9]"' || fail "no heartbeat answered"

# --- kill -9 in the middle of an ad hoc command ----------------------------------------------
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"duration\":30,\"frequency\":49,\"target_hosts\":{\"$HN\":[$A]}}")
RQ=$(echo "$R" | field 'd["request_id"]')
C=$(echo "$R" | field 'd["command_ids"][0]')
wait_for 10 'grep -q "ad hoc $C started" "$WORK/agent.log"' || fail "$C not started"
sleep 1
stop_agent KILL
grep -qx "$C" "$ASTATE/executed_commands" || fail "$C not in the persisted executed ids"
start_agent
# the coordinator keeps answering heartbeats with the same current command
wait_for 20 '[ "$(exec_field "$RQ" "e.get(\"status\")")" = failed ]' ||
    fail "the interrupted command was not reported: $(req_json "$RQ")"
sleep 4
n=$(grep -c "ad hoc $C started" "$WORK/agent.log")
[ "$n" = 1 ] || fail "command $C started $n times"
"$GPROFCTL" status --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['slots']['adhoc'] is None and not d['queue'], d" ||
    fail "the restarted agent runs or queues the old command"
msg=$(exec_field "$RQ" 'e["error_message"]')
echo "$msg" | grep -q restarted || fail "failure reason: $msg"
ok "killed mid-command and restarted: $C ran once and is reported failed ($msg)"

# --- coordinator down for three sessions -------------------------------------------------------
n0=$(local_sessions)
stop_coord
wait_for 30 '[ "$(local_sessions)" -ge $((n0 + 3)) ]' || fail "no sessions while the coordinator is down"
[ -n "$(ls "$ASTATE/spool")" ] || fail "nothing spooled while the coordinator is down"
"$GPROFCTL" status | grep -q "spool .* waiting" || fail "status does not show the spool"
ok "coordinator down: $(ls "$ASTATE/spool" | wc -l) sessions wait in the spool"
start_coord "$STATE"
wait_for 60 '[ -z "$(ls "$ASTATE/spool")" ]' || fail "spool not drained after the coordinator came back"
ok "coordinator back: the spool drains"

# --- and the agent restarts while uploads wait ---------------------------------------------------
stop_coord
n1=$(local_sessions)
wait_for 30 '[ "$(local_sessions)" -ge $((n1 + 2)) ]' || fail "no sessions while the coordinator is down"
stop_agent TERM
[ "$AGENT_RC" = 0 ] || fail "agent exit status $AGENT_RC"
waiting=$(ls "$ASTATE/spool" | wc -l)
[ "$waiting" -ge 2 ] || fail "only $waiting uploads spooled across the restart"
start_coord "$STATE"
start_agent
wait_for 60 '[ -z "$(ls "$ASTATE/spool")" ]' || fail "spool not drained after the agent restart"
sleep 1
stop_agent TERM
wait_for 30 coord_matches_local ||
    fail "coordinator has $(coord_continuous) profiles / $(coord_samples) samples, the agent kept $(local_sessions) / $(local_samples)"
dups=$(sql "SELECT count(*) FROM (SELECT start_time FROM profiles WHERE continuous = 1 GROUP BY start_time, end_time HAVING count(*) > 1)")
[ "$dups" = 0 ] || fail "$dups sessions stored twice"
ok "$waiting uploads survived the agent restart; all $(local_sessions) sessions arrived exactly once"

# --- a completion that could not be sent survives an agent restart and arrives once ---------------
start_agent --upload-wait 1
wait_for 20 '"$GPROFCTL" status --json | grep -q "\"last_ok\": [1-9]"' || fail "no heartbeat answered"
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"duration\":15,\"frequency\":49,\"target_hosts\":{\"$HN\":[$A]}}")
RQ=$(echo "$R" | field 'd["request_id"]')
C=$(echo "$R" | field 'd["command_ids"][0]')
wait_for 10 'grep -q "ad hoc $C started" "$WORK/agent.log"' || fail "$C not started"
stop_coord
wait_for 45 'grep -q "ad hoc $C completed after" "$WORK/agent.log"' || fail "$C did not complete"
wait_for 5 'grep -q "\"command_id\":\"$C\"" "$ASTATE/pending_completions" 2>/dev/null' ||
    fail "the completion of $C is not kept in $ASTATE/pending_completions"
"$GPROFCTL" status --json | python3 -c "import json,sys; h=json.load(sys.stdin)['heartbeat']; assert h['pending_completions'] == 1, h" ||
    fail "status should show one pending completion"
stop_agent TERM
[ "$AGENT_RC" = 0 ] || fail "agent exit status $AGENT_RC"
grep -q "\"command_id\":\"$C\"" "$ASTATE/pending_completions" ||
    fail "the completion of $C did not survive the agent stop"
! ls -a "$ASTATE" | grep -qE '^\.?pending_completions.*\.tmp$' || fail "a temp file was left behind"
if grep -q "reported $C" "$WORK/agent.log"; then fail "$C was reported while the coordinator was down"; fi
ok "$C completed while the coordinator was down; its completion is kept across the agent stop"
start_agent
grep -q "1 command completion from before the restart waits for the coordinator" "$WORK/agent.log" ||
    fail "the restarted agent did not load the pending completion"
start_coord "$STATE"
wait_for 30 '[ "$(exec_field "$RQ" "e.get(\"status\")")" = completed ]' ||
    fail "the completion of $C did not arrive after the restart: $(req_json "$RQ")"
URL=$(exec_field "$RQ" 'e["results_path"]')
case "$URL" in "$H/api/metrics/adhoc_flamegraph_content?"*) ;; *) fail "results_path is '$URL'" ;; esac
wait_for 30 'curl -fs "$URL" >/dev/null' || fail "the result of $C never reached $URL"
wait_for 10 '[ ! -e "$ASTATE/pending_completions" ]' || fail "the acknowledged completion is still pending"
sleep 3 # a few more heartbeats: nothing is sent again
n=$(grep -c "reported $C:" "$WORK/agent.log")
[ "$n" = 1 ] || fail "the completion of $C was sent $n times"
n=$(grep -c "ad hoc $C started" "$WORK/agent.log")
[ "$n" = 1 ] || fail "command $C started $n times"
stop_agent TERM
ok "after the agent restart and the coordinator's return the completion of $C arrived exactly once ($URL)"
