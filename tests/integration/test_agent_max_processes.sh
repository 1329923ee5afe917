#!/bin/bash
# test_agent_max_processes.sh — max_processes of an ad hoc command with the real agent and
# coordinator: a whole-host command with max_processes=2 while three burners of 3, 2 and 1 threads
# run keeps exactly two processes, the heaviest ones, locally and in the uploaded flame graph, and
# its header says how many processes and samples were left out; a command naming pids is not
# limited by it. The host may be busy with other processes heavier than ours, so the test asserts
# on what holds on any host: every kept process has at least the samples of the largest dropped
# one, our own burners keep their order (one of them is kept only when every heavier one of ours
# is), and the lightest, burn_c, is always dropped (two of ours outweigh it).
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"

STATE=$WORK/state
start_coord "$STATE"
# three burners with their own process names; threads make the order burn_a > burn_b > burn_c
BURNERS=()
for spec in a:3 b:2 c:1; do
    cp "$WL/burn" "$WORK/burn_${spec%:*}"
    "$WORK/burn_${spec%:*}" -d 120 -t "${spec#*:}" >/dev/null 2>&1 &
    BG_PIDS+=("$!")
    BURNERS+=("$!")
done
BIG=${BURNERS[0]}
SMALL=${BURNERS[1]}
start_agent
HN=$HOSTNAME_
wait_for 20 '"$GPROFCTL" status --json | grep -q "\"last_ok\": [1-9]"' || fail "no heartbeat answered"

newest_col() { ls -t "$ASTATE"/adhoc/results/profile_*.col 2>/dev/null | head -1; }
# the distinct "container;comm" of a collapsed file's stack lines
processes_of() { awk -F';' '!/^# / && NF { print $2 ";" $3 }' "$1" | sort -u; }

# --- whole host, max_processes=2 ---------------------------------------------------------------
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"duration\":5,\"frequency\":99,\"target_hosts\":{\"$HN\":null},\"additional_args\":{\"max_processes\":2}}")
R1=$(echo "$R" | field 'd["request_id"]')
C1=$(echo "$R" | field 'd["command_ids"][0]')
wait_for 30 '[ "$(exec_field "$R1" "e.get(\"status\")")" = completed ]' ||
    fail "whole-host request $R1 not completed: $(req_json "$R1")"
COL=$(newest_col)
[ -n "$COL" ] || fail "no local ad hoc result"
procs=$(processes_of "$COL")
[ "$(echo "$procs" | wc -l)" = 2 ] || fail "max_processes=2 kept $(echo "$procs" | wc -l) processes: $procs"
python3 - "$COL" "$WORK/kept.txt" >"$WORK/limit.txt" <<'PY' || fail "wrong limit (kept $(echo $procs)): $(cat "$WORK/limit.txt") $(head -c 800 "$COL")"
import collections, json, sys
col, kept_out = sys.argv[1], sys.argv[2]
lines = open(col).read().splitlines()
l = json.loads(lines[0][2:])['process_limit']
samples = collections.Counter()
for line in lines[1:]:
    if line:
        stack, n = line.rsplit(' ', 1)
        samples[stack.split(';')[2]] += int(n)
assert l['max_processes'] == 2, l
assert l['processes'] >= 3 and l['processes_dropped'] == l['processes'] - 2, l
big = l['largest_dropped']
assert l['samples_dropped'] >= big['samples'] > 0, l
assert min(samples.values()) >= big['samples'], ('a kept process is lighter than a dropped one', samples, l)
ours = ['burn_a', 'burn_b', 'burn_c']
kept_ours = [p for p in ours if p in samples]
assert kept_ours == ours[:len(kept_ours)], ('our burners out of order', dict(samples), l)
assert 'burn_c' not in samples, ('burn_c kept', dict(samples), l)
print('kept %s; dropped %d of %d processes with %d samples, the largest %s with %d'
      % (dict(samples), l['processes_dropped'], l['processes'], l['samples_dropped'],
         big['comm'], big['samples']))
open(kept_out, 'w').write('\n'.join(samples) + '\n')
PY
grep -q "ad hoc $C1: max_processes 2: kept 2 of" "$WORK/agent.log" || fail "the agent did not log what it dropped"
ok "whole host with max_processes=2: the two heaviest processes are kept ($(cat "$WORK/limit.txt"))"
URL=$(exec_field "$R1" 'e["results_path"]')
curl -fs "$URL" >"$WORK/fg.json" || fail "cannot fetch $URL"
python3 - "$WORK/fg.json" "$WORK/kept.txt" <<'PY' || fail "the uploaded flame graph should hold the kept processes ($(tr '\n' ' ' <"$WORK/kept.txt")) and not burn_c"
import json, sys
c = json.load(open(sys.argv[1]))['content']
kept = open(sys.argv[2]).read().split()
assert all(k in c for k in kept), kept
assert 'burn_c' not in c
PY
ok "the uploaded ad hoc flame graph also holds only the kept processes ($(tr '\n' ' ' <"$WORK/kept.txt"))"

# --- explicit pids are not limited ---------------------------------------------------------------
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"duration\":3,\"frequency\":99,\"target_hosts\":{\"$HN\":[$BIG,$SMALL]},\"additional_args\":{\"max_processes\":1}}")
R2=$(echo "$R" | field 'd["request_id"]')
wait_for 30 '[ "$(exec_field "$R2" "e.get(\"status\")")" = completed ]' ||
    fail "pid request $R2 not completed: $(req_json "$R2")"
COL2=$(newest_col)
[ "$COL2" != "$COL" ] || fail "no new local ad hoc result for $R2"
procs=$(processes_of "$COL2" | tr '\n' ' ')
[ "$procs" = ";burn_a ;burn_b " ] || fail "a session naming two pids kept '$procs'"
if head -1 "$COL2" | grep -q process_limit; then fail "a pid session should not carry process_limit"; fi
ok "a command naming pids profiles every pid it names (max_processes applies to whole-host sessions)"

stop_agent TERM
[ "$AGENT_RC" = 0 ] || fail "agent exit status $AGENT_RC"
