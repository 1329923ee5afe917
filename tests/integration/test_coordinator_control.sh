#!/bin/bash
# test_coordinator_control.sh — the control plane over real HTTP: request -> heartbeat ->
# completion, merging into an unfinished command, process- and host-level stops, status
# transitions of requests/commands, dry runs, bulk requests with per-item results, fleet limits,
# host_status filters, offline hosts, and commands surviving a restart.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

STATE=$WORK/state
TOK=$("$COORD" token create --service svc --state-dir "$STATE" 2>/dev/null)
TOK2=$("$COORD" token create --service svc2 --state-dir "$STATE" 2>/dev/null)
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
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
rstatus() { curl -s "${UI[@]}" "$H/api/metrics/profile_request?request_id=$1" | field 'd["status"]'; }
complete() { # command host status
    curl -s -o "$WORK/cc" -w '%{http_code}' -X POST "$H/api/metrics/command_completion" \
        -H "Authorization: Bearer $TOK" \
        -d "{\"command_id\":\"$1\",\"hostname\":\"$2\",\"status\":\"$3\",\"execution_time\":12,\"error_message\":null,\"results_path\":\"/var/lib/gprof/r.col\"}"
}

for h in h1 h2 h3; do
    hb $h | jcheck 'd["success"] and d["profiling_command"] is None and d["command_id"] is None' ||
        fail "first heartbeat of $h"
done
ok "heartbeats without a command"

# --- start, merge, deliver, complete ---------------------------------------------------------
R1J=$(req '{"service_name":"svc","request_type":"start","duration":30,"frequency":11,"target_hosts":{"h1":[10,20]},"additional_args":{"max_processes":5,"profiler_configs":{"perf":"enabled_restricted"}}}')
echo "$R1J" | jcheck 'd["success"] and len(d["command_ids"])==1 and d["hosts"][0]["action"]=="created"' || fail "start: $R1J"
R1=$(echo "$R1J" | field 'd["request_id"]')
[ "$(rstatus "$R1")" = pending ] || fail "new request should be pending"
R2J=$(req '{"service_name":"svc","request_type":"start","duration":90,"frequency":99,"profiling_mode":"cpu","target_hosts":{"h1":[30,10]},"additional_args":{"enable_perfspect":true}}')
echo "$R2J" | jcheck 'd["hosts"][0]["action"]=="merged"' || fail "second start did not merge: $R2J"
R2=$(echo "$R2J" | field 'd["request_id"]')
C2=$(echo "$R2J" | field 'd["command_ids"][0]')
hb h1 >"$WORK/hb1"
jcheck 'd["command_id"]=="'"$C2"'" and d["profiling_command"]["command_type"]=="start"' <"$WORK/hb1" || fail "heartbeat lacks merged command: $(cat "$WORK/hb1")"
python3 - "$WORK/hb1" <<'PY' || fail "merged config wrong: $(cat "$WORK/hb1")"
import json, sys
c = json.load(open(sys.argv[1]))["profiling_command"]["combined_config"]
assert c["pids"] == [10, 20, 30], c
assert c["duration"] == 90 and c["frequency"] == 99, c
assert c["max_processes"] == 5 and c["enable_perfspect"] is True, c
assert c["profiler_configs"]["perf"] == "enabled_restricted", c
PY
ok "a second start merges into the unfinished command (union of pids, max duration/frequency, args merged)"

[ "$(rstatus "$R1")" = assigned ] || fail "R1 should be assigned after delivery, is $(rstatus "$R1")"
[ "$(rstatus "$R2")" = assigned ] || fail "R2 should be assigned after delivery"
hb h1 | jcheck 'd["command_id"]=="'"$C2"'"' || fail "the current command is resent on every heartbeat"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?hostname=h1&exact_match=true" |
    jcheck 'len(d)==1 and d[0]["profiling_status"]=="sent" and d[0]["command_type"]=="start" and d[0]["pids"]==[10,20,30] and d[0]["ip_address"]=="10.1.0.9"' ||
    fail "host_status after delivery"
[ "$(complete "$C2" h1 completed)" = 200 ] || fail "completion: $(cat "$WORK/cc")"
[ "$(rstatus "$R1")" = completed ] || fail "R1 should be completed"
[ "$(rstatus "$R2")" = completed ] || fail "R2 should be completed"
curl -s "${UI[@]}" "$H/api/metrics/profile_request?request_id=$R2" |
    jcheck 'any(e["status"]=="completed" and e["execution_time"]==12 and e["results_path"]=="/var/lib/gprof/r.col" for e in d["executions"])' ||
    fail "execution row not completed"
hb h1 | jcheck 'd["command_id"] is None' || fail "a finished ad hoc command must not be resent"
[ "$(complete "$C2" h1 completed)" = 200 ] || fail "a retried completion is idempotent: $(cat "$WORK/cc")"
grep -q "already recorded" "$WORK/cc" || fail "retried completion message: $(cat "$WORK/cc")"
[ "$(complete "$C2" h1 failed)" = 409 ] || fail "completed -> failed must be refused: $(cat "$WORK/cc")"
[ "$(rstatus "$R2")" = completed ] || fail "R2 changed after a refused completion"
[ "$(complete 00000000-0000-0000-0000-000000000000 h1 completed)" = 404 ] || fail "unknown command completion"
[ "$(complete "$C2" h1 running)" = 400 ] || fail "bad completion status"
ok "status transitions: request pending -> assigned -> completed; command pending -> sent -> completed"

# failed completion marks the request failed
RFJ=$(req '{"service_name":"svc","request_type":"start","duration":5,"target_hosts":{"h3":null}}')
RF=$(echo "$RFJ" | field 'd["request_id"]')
CF=$(hb h3 | field 'd["command_id"]')
[ "$(complete "$CF" h3 failed)" = 200 ] || fail "failed completion"
[ "$(rstatus "$RF")" = failed ] || fail "request should be failed"
ok "failed completion -> request failed"

# --- continuous commands stay current; stops ---------------------------------------------------
RCJ=$(req '{"service_name":"svc","request_type":"start","continuous":true,"target_hosts":{"h2":null}}')
CC=$(echo "$RCJ" | field 'd["command_ids"][0]')
hb h2 | jcheck 'd["command_id"]=="'"$CC"'" and d["profiling_command"]["combined_config"]["continuous"] is True' || fail "continuous start"
complete "$CC" h2 completed >/dev/null # gProfiler agents report completion when they start
hb h2 | jcheck 'd["command_id"]=="'"$CC"'"' || fail "a continuous command stays current after completion"
RSJ=$(req '{"service_name":"svc","request_type":"stop","stop_level":"host","target_hosts":{"h2":null}}')
echo "$RSJ" | jcheck 'd["hosts"][0]["action"]=="stop_host"' || fail "host stop: $RSJ"
hb h2 | jcheck 'd["profiling_command"]["command_type"]=="stop" and d["profiling_command"]["combined_config"]=={"command_type":"stop","stop_level":"host"}' ||
    fail "host-level stop not delivered"
ok "continuous command resent until a host-level stop ends it"

RP=$(req '{"service_name":"svc","request_type":"start","duration":60,"target_hosts":{"h1":[1,2,3]}}')
RPID=$(echo "$RP" | field 'd["request_id"]')
req '{"service_name":"svc","request_type":"stop","target_hosts":{"h1":[2]}}' |
    jcheck 'd["hosts"][0]["action"]=="pids_removed" and d["hosts"][0]["combined_config"]["pids"]==[1,3] and d["hosts"][0]["combined_config"]["command_type"]=="start"' ||
    fail "process-level stop should remove pid 2"
hb h1 | jcheck 'd["profiling_command"]["combined_config"]["pids"]==[1,3]' || fail "remaining pids not delivered"
req '{"service_name":"svc","request_type":"stop","stop_level":"process","target_hosts":{"h1":[1,3]}}' |
    jcheck 'd["hosts"][0]["action"]=="stop_host" and d["hosts"][0]["combined_config"]["stop_level"]=="host"' ||
    fail "stopping the last pids should become a host-level stop"
[ "$(rstatus "$RPID")" = cancelled ] || fail "a request whose command was stopped before completing is cancelled, got $(rstatus "$RPID")"
req '{"service_name":"svc","request_type":"stop","target_hosts":{"h3":[77]}}' |
    jcheck 'd["hosts"][0]["action"]=="stop_process" and d["hosts"][0]["combined_config"]=={"command_type":"stop","stop_level":"process","pids":[77]}' ||
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
BEFORE=$(hb h3 | field 'd["command_id"]')
req '{"service_name":"svc","request_type":"start","dry_run":true,"target_hosts":{"h3":[5]}}' |
    jcheck 'd["success"] and d["dry_run"] and d["request_id"] is None and d["command_ids"]==[]' || fail "dry run answer"
[ "$(hb h3 | field 'd["command_id"]')" = "$BEFORE" ] || fail "dry run changed the command"
ok "validation messages, dry run, per-request host limit"

# start without target_hosts: every active host of the service
hb solo svc2 | jcheck 'd["success"]' || fail "heartbeat with the svc2 token"
expect_status 401 "not valid for service" -X POST "$H/api/metrics/heartbeat" -H "Authorization: Bearer $TOK2" \
    -d '{"hostname":"solo","service_name":"svc"}'
req '{"service_name":"svc2","request_type":"start","duration":10}' | jcheck 'd["hosts"][0]["hostname"]=="solo" and len(d["hosts"])==1' ||
    fail "start without target_hosts should target the active hosts"
ok "start without target_hosts targets the service's active hosts"

curl -s "${UI[@]}" -X POST "$H/api/metrics/profile_request/bulk" -d '{"requests":[
  {"service_name":"svc","request_type":"start","target_hosts":{"h3":[9]}},
  {"service_name":"svc","request_type":"restart"},
  {"service_name":"svc","request_type":"start","target_hosts":{"h1":null,"h2":null,"h3":null}}],"dry_run":true}' >"$WORK/bulk"
python3 - "$WORK/bulk" <<'PY' || fail "bulk: $(cat "$WORK/bulk")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["total_submitted"] == 3 and d["successful_count"] == 1 and d["failed_count"] == 2, d
r = d["results"]
assert r[0]["success"] and r[0]["response"]["dry_run"], r[0]
assert not r[1]["success"] and "request_type" in r[1]["error"], r[1]
assert not r[2]["success"] and "max_hosts_per_request" in r[2]["error"], r[2]
PY
[ "$(hb h3 | field 'd["command_id"]')" = "$BEFORE" ] || fail "bulk dry run changed a command"
curl -s "${UI[@]}" -X POST "$H/api/metrics/profile_request/bulk" -d '{"requests":[{"service_name":"svc","request_type":"start","target_hosts":{"h3":[9]}}]}' |
    jcheck 'd["successful_count"]==1 and d["results"][0]["response"]["request_id"]' || fail "bulk submit"
expect_status 400 "requests" "${UI[@]}" -X POST "$H/api/metrics/profile_request/bulk" -d '{"requests":[]}'
ok "bulk requests: dry run, per-item results"

# --- host status filters and offline hosts ----------------------------------------------------
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?service_name=sv" | jcheck 'len(d)==4' || fail "substring service filter"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?service_name=sv&exact_match=true" | jcheck 'len(d)==0' || fail "exact service filter"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?command_type=stop" | jcheck 'sorted(h["hostname"] for h in d)==["h1","h2"]' || fail "command_type filter"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?pids=9" | jcheck '[h["hostname"] for h in d]==["h3"]' || fail "pids filter"
expect_status 400 "profiling_status" "${UI[@]}" "$H/api/metrics/profiling/host_status?profiling_status=bogus"
sleep 4
hb h1 >/dev/null
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?service_name=svc&exact_match=true" >"$WORK/hs"
python3 - "$WORK/hs" <<'PY' || fail "offline detection: $(cat "$WORK/hs")"
import json, sys
d = {h["hostname"]: h for h in json.load(open(sys.argv[1]))}
assert d["h1"]["status"] == "active", d["h1"]
assert d["h3"]["status"] == "offline", d["h3"]
PY
ok "host_status filters; a host silent for 3 intervals is offline"

# --- commands survive a restart ---------------------------------------------------------------
CUR=$(hb h3 | field 'd["command_id"]')
stop_coord
start_coord "$STATE" "${FLAGS[@]}"
[ "$(hb h3 | field 'd["command_id"]')" = "$CUR" ] || fail "current command lost across a restart"
curl -s "${UI[@]}" "$H/api/metrics/profiling/host_status?hostname=solo" | jcheck 'len(d)==1' || fail "heartbeats not persisted"
ok "commands and heartbeats persist across a restart"
stop_coord
