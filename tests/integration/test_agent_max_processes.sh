#!/bin/bash
# test_agent_max_processes.sh — max_processes of an ad hoc command with the real agent and
# coordinator: a whole-host command with max_processes=1 while two burners run keeps exactly one
# process (the one with the most samples) locally and in the uploaded flame graph, and its header
# says how many processes and samples were left out; a command naming pids is not limited by it.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"

STATE=$WORK/state
start_coord "$STATE"
# two burners with their own process names; the big one has two threads, so more samples
cp "$WL/burn" "$WORK/burn_big"
cp "$WL/burn" "$WORK/burn_small"
"$WORK/burn_big" -d 120 -t 2 >/dev/null 2>&1 &
BIG=$!
BG_PIDS+=("$BIG")
"$WORK/burn_small" -d 120 -t 1 >/dev/null 2>&1 &
SMALL=$!
BG_PIDS+=("$SMALL")
start_agent
HN=$HOSTNAME_
wait_for 20 '"$GPROFCTL" status --json | grep -q "\"last_ok\": [1-9]"' || fail "no heartbeat answered"

newest_col() { ls -t "$ASTATE"/adhoc/results/profile_*.col 2>/dev/null | head -1; }
# the distinct "container;comm" of a collapsed file's stack lines
processes_of() { awk -F';' '!/^# / && NF { print $2 ";" $3 }' "$1" | sort -u; }

# --- whole host, max_processes=1 ---------------------------------------------------------------
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"duration\":5,\"frequency\":99,\"target_hosts\":{\"$HN\":null},\"additional_args\":{\"max_processes\":1}}")
R1=$(echo "$R" | field 'd["request_id"]')
C1=$(echo "$R" | field 'd["command_ids"][0]')
wait_for 30 '[ "$(exec_field "$R1" "e.get(\"status\")")" = completed ]' ||
    fail "whole-host request $R1 not completed: $(req_json "$R1")"
COL=$(newest_col)
[ -n "$COL" ] || fail "no local ad hoc result"
procs=$(processes_of "$COL")
[ "$(echo "$procs" | wc -l)" = 1 ] || fail "max_processes=1 kept $(echo "$procs" | wc -l) processes: $procs"
# the kept process must be the heaviest: at least as many samples as the largest one dropped. On a
# quiet machine that is burn_big; on a shared one another busy process may outweigh it.
kept=$(awk '!/^# / && NF { s += $NF } END { print s + 0 }' "$COL")
head -1 "$COL" | sed 's/^# //' | python3 -c "
import json, sys
kept, procs = int(sys.argv[1]), sys.argv[2]
l = json.load(sys.stdin)['process_limit']
assert l['max_processes'] == 1, l
assert l['processes'] >= 2 and l['processes_dropped'] == l['processes'] - 1, l
big = l['largest_dropped']
assert l['samples_dropped'] >= big['samples'] > 0, l
assert kept >= big['samples'], (kept, l)
names = {procs.split(';', 1)[1], big['comm']}
assert names & {'burn_big', 'burn_small'}, (procs, l)
print('kept %s with %d samples; dropped %d of %d processes with %d samples, the largest %s with %d'
      % (procs, kept, l['processes_dropped'], l['processes'], l['samples_dropped'], big['comm'],
         big['samples']))
print(big['comm'], file=open(sys.argv[3], 'w'))
" "$kept" "$procs" "$WORK/dropped.txt" >"$WORK/limit.txt" || fail "header lacks a correct process_limit (kept $procs, $kept samples): $(head -c 800 "$COL")"
grep -q "ad hoc $C1: max_processes 1: kept 1 of" "$WORK/agent.log" || fail "the agent did not log what it dropped"
ok "whole host with max_processes=1: exactly one process is kept ($(cat "$WORK/limit.txt"))"
URL=$(exec_field "$R1" 'e["results_path"]')
curl -fs "$URL" >"$WORK/fg.json" || fail "cannot fetch $URL"
python3 -c "
import json, sys
c = json.load(open(sys.argv[1]))['content']
assert sys.argv[2] in c and sys.argv[3] not in c, (sys.argv[2] in c, sys.argv[3] in c)
" "$WORK/fg.json" "${procs#*;}" "$(cat "$WORK/dropped.txt")" ||
    fail "the uploaded flame graph should show ${procs#*;} and not $(cat "$WORK/dropped.txt")"
ok "the uploaded ad hoc flame graph also holds only ${procs#*;}"

# --- explicit pids are not limited ---------------------------------------------------------------
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"duration\":3,\"frequency\":99,\"target_hosts\":{\"$HN\":[$BIG,$SMALL]},\"additional_args\":{\"max_processes\":1}}")
R2=$(echo "$R" | field 'd["request_id"]')
wait_for 30 '[ "$(exec_field "$R2" "e.get(\"status\")")" = completed ]' ||
    fail "pid request $R2 not completed: $(req_json "$R2")"
COL2=$(newest_col)
[ "$COL2" != "$COL" ] || fail "no new local ad hoc result for $R2"
procs=$(processes_of "$COL2" | tr '\n' ' ')
[ "$procs" = ";burn_big ;burn_small " ] || fail "a session naming two pids kept '$procs'"
if head -1 "$COL2" | grep -q process_limit; then fail "a pid session should not carry process_limit"; fi
ok "a command naming pids profiles every pid it names (max_processes applies to whole-host sessions)"

stop_agent TERM
[ "$AGENT_RC" = 0 ] || fail "agent exit status $AGENT_RC"
