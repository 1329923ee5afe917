#!/bin/bash
# test_coordinator_control.sh — the control plane over real HTTP: request -> heartbeat ->
# completion, merging into an unfinished command, process- and host-level stops, status
# transitions of requests/commands, dry runs, bulk requests with per-item results, fleet limits,
# host_status filters, offline hosts, and commands surviving a restart.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

STATE=$WORK/state
TOK=$(coord_admin token create --service svc --state-dir "$STATE" 2>/dev/null)
TOK2=$(coord_admin token create --service svc2 --state-dir "$STATE" 2>/dev/null)
FLAGS=(--auth on --ui-token UI --heartbeat-interval-s 1 --max-hosts-per-request 2)
start_coord "$STATE" "${FLAGS[@]}"
UI=(-H "Authorization: Bearer UI")

hb() { # host [service] -> response json
    local t=$TOK
    [ "${2:-svc}" = svc2 ] && t=$TOK2
    curl -s -X POST "$H/api/metrics/heartbeat" -H "Authorization: Bearer $t" \
        -H 'Content-Type: application/json' \
        -d "{\"ip_address\":\"10.1.0.9\",\"hostname\":\"$1\",\"service_name\":\"${2:-svc}\",\"last_command_id\":null,\"status\":\"active\",\"timestamp\":\"2026-01-01T00:00:00\",\"received_command_ids\":[],\"executed_command_ids\":[]}"
}
req() { curl -s "${UI[@]}" -X POST "$H/api/metrics/profile_request" -d "$1"; }
rstatus() { curl -s "${UI[@]}" "$H/api/metrics/profile_request?request_id=$1" | field '.status'; }
complete() { # command host status
    curl -s -o "$WORK/cc" -w '%{http_code}' -X POST "$H/api/metrics/command_completion" \
        -H "Authorization: Bearer $TOK" \
        -d "{\"command_id\":\"$1\",\"hostname\":\"$2\",\"status\":\"$3\",\"execution_time\":12,\"error_message\":null,\"results_path\":\"/var/lib/gprof/r.col\"}"
}

for h in h1 h2 h3; do
    hb $h | jcheck '.success and .profiling_command == null and .command_id == null' ||
        fail "first heartbeat of $h"
done
ok "heartbeats without a command"

# --- start, merge, deliver, complete ---------------------------------------------------------
R1J=$(req '{"service_name":"svc","request_type":"start","duration":30,"frequency":11,"target_hosts":{"h1":[10,20]},"additional_args":{"max_processes":5,"profiler_configs":{"perf":"enabled_restricted"}}}')
echo "$R1J" | jcheck '.success and (.command_ids|length)==1 and .hosts[0].action=="created"' || fail "start: $R1J"
R1=$(echo "$R1J" | field '.request_id')
[ "$(rstatus "$R1")" = pending ] || fail "new request should be pending"
R2J=$(req '{"service_name":"svc","request_type":"start","duration":90,"frequency":99,"profiling_mode":"cpu","target_hosts":{"h1":[30,10]},"additional_args":{"enable_perfspect":true}}')
echo "$R2J" | jcheck '.hosts[0].action=="merged"' || fail "second start did not merge: $R2J"
R2=$(echo "$R2J" | field '.request_id')
C2=$(echo "$R2J" | field '.command_ids[0]')
hb h1 >"$WORK/hb1"
jcheck '.command_id=="'"$C2"'" and .profiling_command.command_type=="start"' <"$WORK/hb1" || fail "heartbeat lacks merged command: $(cat "$WORK/hb1")"
jcheck '.profiling_command.combined_config | .pids==[10,20,30] and .duration==90 and .frequency==99 and .max_processes==5 and .enable_perfspect==true and .profiler_configs.perf=="enabled_restricted"' <"$WORK/hb1" ||
    fail "merged config wrong: $(cat "$WORK/hb1")"
ok "a second start merges into the unfinished command (union of pids, max duration/frequency, args merged)"

[ "$(rstatus "$R1")" = assigned ] || fail "R1 should be assigned after delivery, is $(rstatus "$R1")"
[ "$(rstatus "$R2")" = assigned ] || fail "R2 should be assigned after delivery"
hb h1 | jcheck '.command_id=="'"$C2"'"' || fail "the current command is resent on every heartbeat"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?hostname=h1&exact_match=true" |
    jcheck 'length==1 and .[0].profiling_status=="sent" and .[0].command_type=="start" and .[0].pids==[10,20,30] and .[0].ip_address=="10.1.0.9"' ||
    fail "host_status after delivery"
[ "$(complete "$C2" h1 completed)" = 200 ] || fail "completion: $(cat "$WORK/cc")"
[ "$(rstatus "$R1")" = completed ] || fail "R1 should be completed"
[ "$(rstatus "$R2")" = completed ] || fail "R2 should be completed"
curl -s "${UI[@]}" "$H/api/metrics/profile_request?request_id=$R2" |
    jcheck 'any(.executions[]; .status=="completed" and .execution_time==12 and .results_path=="/var/lib/gprof/r.col")' ||
    fail "execution row not completed"
hb h1 | jcheck '.command_id == null' || fail "a finished ad hoc command must not be resent"
[ "$(complete "$C2" h1 completed)" = 200 ] || fail "a retried completion is idempotent: $(cat "$WORK/cc")"
grep -q "already recorded" "$WORK/cc" || fail "retried completion message: $(cat "$WORK/cc")"
[ "$(complete "$C2" h1 failed)" = 409 ] || fail "completed -> failed must be refused: $(cat "$WORK/cc")"
[ "$(rstatus "$R2")" = completed ] || fail "R2 changed after a refused completion"
[ "$(complete 00000000-0000-0000-0000-000000000000 h1 completed)" = 404 ] || fail "unknown command completion"
[ "$(complete "$C2" h1 running)" = 400 ] || fail "bad completion status"
ok "status transitions: request pending -> assigned -> completed; command pending -> sent -> completed"

# failed completion marks the request failed
RFJ=$(req '{"service_name":"svc","request_type":"start","duration":5,"target_hosts":{"h3":null}}')
RF=$(echo "$RFJ" | field '.request_id')
CF=$(hb h3 | field '.command_id')
[ "$(complete "$CF" h3 failed)" = 200 ] || fail "failed completion"
[ "$(rstatus "$RF")" = failed ] || fail "request should be failed"
ok "failed completion -> request failed"

# --- continuous commands stay current; stops ---------------------------------------------------
RCJ=$(req '{"service_name":"svc","request_type":"start","continuous":true,"target_hosts":{"h2":null}}')
CC=$(echo "$RCJ" | field '.command_ids[0]')
hb h2 | jcheck '.command_id=="'"$CC"'" and .profiling_command.combined_config.continuous==true' || fail "continuous start"
complete "$CC" h2 completed >/dev/null # gProfiler agents report completion when they start
hb h2 | jcheck '.command_id=="'"$CC"'"' || fail "a continuous command stays current after completion"
RSJ=$(req '{"service_name":"svc","request_type":"stop","stop_level":"host","target_hosts":{"h2":null}}')
echo "$RSJ" | jcheck '.hosts[0].action=="stop_host"' || fail "host stop: $RSJ"
hb h2 | jcheck '.profiling_command.command_type=="stop" and .profiling_command.combined_config=={"command_type":"stop","stop_level":"host"}' ||
    fail "host-level stop not delivered"
ok "continuous command resent until a host-level stop ends it"

RP=$(req '{"service_name":"svc","request_type":"start","duration":60,"target_hosts":{"h1":[1,2,3]}}')
RPID=$(echo "$RP" | field '.request_id')
req '{"service_name":"svc","request_type":"stop","target_hosts":{"h1":[2]}}' |
    jcheck '.hosts[0].action=="pids_removed" and .hosts[0].combined_config.pids==[1,3] and .hosts[0].combined_config.command_type=="start"' ||
    fail "process-level stop should remove pid 2"
hb h1 | jcheck '.profiling_command.combined_config.pids==[1,3]' || fail "remaining pids not delivered"
req '{"service_name":"svc","request_type":"stop","stop_level":"process","target_hosts":{"h1":[1,3]}}' |
    jcheck '.hosts[0].action=="stop_host" and .hosts[0].combined_config.stop_level=="host"' ||
    fail "stopping the last pids should become a host-level stop"
[ "$(rstatus "$RPID")" = cancelled ] || fail "a request whose command was stopped before completing is cancelled, got $(rstatus "$RPID")"
req '{"service_name":"svc","request_type":"stop","target_hosts":{"h3":[77]}}' |
    jcheck '.hosts[0].action=="stop_process" and .hosts[0].combined_config=={"command_type":"stop","stop_level":"process","pids":[77]}' ||
    fail "process stop without a live command"
ok "process-level stop removes pids (host-level when none remain); host-level stop ends everything"

# --- validation, dry run, limits, bulk ---------------------------------------------------------
expect_status 400 "Stop commands require specific target hosts" "${UI[@]}" -X POST "$H/api/metrics/profile_request" -d '{"service_name":"svc","request_type":"stop"}'
expect_status 400 "process-level stop needs PIDs" "${UI[@]}" -X POST "$H/api/metrics/profile_request" -d '{"service_name":"svc","request_type":"stop","target_hosts":{"h1":null}}'
expect_status 400 "field 'duration'" "${UI[@]}" -X POST "$H/api/metrics/profile_request" -d '{"service_name":"svc","request_type":"start","duration":-5}'
expect_status 400 "malformed JSON" "${UI[@]}" -X POST "$H/api/metrics/profile_request" -d '{"service_name":'
expect_status 400 "no active hosts" "${UI[@]}" -X POST "$H/api/metrics/profile_request" -d '{"service_name":"ghost","request_type":"start"}'
expect_status 401 "" -X POST "$H/api/metrics/profile_request" -d '{"service_name":"svc","request_type":"start"}'
expect_status 422 "max_hosts_per_request" "${UI[@]}" -X POST "$H/api/metrics/profile_request" -d '{"service_name":"svc","request_type":"start","target_hosts":{"h1":null,"h2":null,"h3":null}}'
BEFORE=$(hb h3 | field '.command_id')
req '{"service_name":"svc","request_type":"start","dry_run":true,"target_hosts":{"h3":[5]}}' |
    jcheck '.success and .dry_run and .request_id==null and .command_ids==[]' || fail "dry run answer"
[ "$(hb h3 | field '.command_id')" = "$BEFORE" ] || fail "dry run changed the command"
ok "validation messages, dry run, per-request host limit"

# start without target_hosts: every active host of the service
hb solo svc2 | jcheck '.success' || fail "heartbeat with the svc2 token"
expect_status 401 "not valid for service" -X POST "$H/api/metrics/heartbeat" -H "Authorization: Bearer $TOK2" \
    -d '{"hostname":"solo","service_name":"svc"}'
req '{"service_name":"svc2","request_type":"start","duration":10}' | jcheck '.hosts[0].hostname=="solo" and (.hosts|length)==1' ||
    fail "start without target_hosts should target the active hosts"
ok "start without target_hosts targets the service's active hosts"

curl -s "${UI[@]}" -X POST "$H/api/metrics/profile_request/bulk" -d '{"requests":[
  {"service_name":"svc","request_type":"start","target_hosts":{"h3":[9]}},
  {"service_name":"svc","request_type":"restart"},
  {"service_name":"svc","request_type":"start","target_hosts":{"h1":null,"h2":null,"h3":null}}],"dry_run":true}' >"$WORK/bulk"
jcheck '.total_submitted==3 and .successful_count==1 and .failed_count==2 and
    (.results[0] | .success and .response.dry_run) and
    (.results[1] | (.success|not) and (.error|contains("request_type"))) and
    (.results[2] | (.success|not) and (.error|contains("max_hosts_per_request")))' <"$WORK/bulk" ||
    fail "bulk: $(cat "$WORK/bulk")"
[ "$(hb h3 | field '.command_id')" = "$BEFORE" ] || fail "bulk dry run changed a command"
curl -s "${UI[@]}" -X POST "$H/api/metrics/profile_request/bulk" -d '{"requests":[{"service_name":"svc","request_type":"start","target_hosts":{"h3":[9]}}]}' |
    jcheck '.successful_count==1 and (.results[0].response.request_id|type)=="string"' || fail "bulk submit"
expect_status 400 "requests" "${UI[@]}" -X POST "$H/api/metrics/profile_request/bulk" -d '{"requests":[]}'
ok "bulk requests: dry run, per-item results"

# --- host status filters and offline hosts ----------------------------------------------------
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?service_name=sv" | jcheck 'length==4' || fail "substring service filter"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?service_name=sv&exact_match=true" | jcheck 'length==0' || fail "exact service filter"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?command_type=stop" | jcheck '[.[].hostname]|sort==["h1","h2"]' || fail "command_type filter"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?pids=9" | jcheck '[.[].hostname]==["h3"]' || fail "pids filter"
expect_status 400 "profiling_status" "${UI[@]}" "$H/api/metrics/profiling/host_status?profiling_status=bogus"
sleep 4
hb h1 >/dev/null
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?service_name=svc&exact_match=true" >"$WORK/hs"
jcheck '(map({(.hostname): .status}) | add) as $s | $s.h1=="active" and $s.h3=="offline"' <"$WORK/hs" ||
    fail "offline detection: $(cat "$WORK/hs")"
ok "host_status filters; a host silent for 3 intervals is offline"

# --- commands survive a restart ---------------------------------------------------------------
CUR=$(hb h3 | field '.command_id')
stop_coord
start_coord "$STATE" "${FLAGS[@]}"
[ "$(hb h3 | field '.command_id')" = "$CUR" ] || fail "current command lost across a restart"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?hostname=solo" | jcheck 'length==1' || fail "heartbeats not persisted"
ok "commands and heartbeats persist across a restart"
stop_coord

# --- the share of the fleet profiling at once --------------------------------------------------
start_coord "$STATE" "${FLAGS[@]}" --max-profiling-share-pct 50
for h in h1 h2 h3; do hb $h >/dev/null; done
# h3 still runs a start; 50% of 3 active hosts = 1 may profile at once
expect_status 422 "max_profiling_share_pct" "${UI[@]}" -X POST "$H/api/metrics/profile_request" \
    -d '{"service_name":"svc","request_type":"start","target_hosts":{"h1":null}}'
req '{"service_name":"svc","request_type":"start","target_hosts":{"h3":[10]}}' | jcheck '.success and .hosts[0].action=="merged"' ||
    fail "a host already profiling may take more work under the share limit"
ok "fleet share limit refuses to start a second host at 50% of 3"
stop_coord
