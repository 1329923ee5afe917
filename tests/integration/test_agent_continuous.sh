#!/bin/bash
# test_agent_continuous.sh — the real agent (BPF) against the real coordinator: back-to-back
# continuous sessions are kept locally and every one arrives once and is queryable; sd_notify
# READY/STATUS/WATCHDOG on a test NOTIFY_SOCKET; the token never lands in a profile; SIGHUP
# reloads the config; SIGTERM finishes and uploads the current session and exits 0; without a
# coordinator the agent still keeps rotating local results.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"

STATE=$WORK/state
start_coord "$STATE"

# a unix datagram socket standing in for systemd's
NOTIFY=$WORK/notify.sock
python3 - "$NOTIFY" "$WORK/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode() + "\n---\n")
PY
BG_PIDS+=($!)
wait_for 5 '[ -S "$NOTIFY" ]' || fail "notify socket not created"

CONF=$WORK/agent.conf
printf 'frequency = 11\nkeep_results = 100\n' >"$CONF"
burn 120
NOTIFY_SOCKET=$NOTIFY start_agent --config "$CONF" --token SECRETTOKEN123

wait_for 30 '[ "$(local_sessions)" -ge 3 ]' || fail "fewer than 3 local sessions after 30 s"
ok "continuous sessions are kept locally ($(local_sessions) so far)"
[ -L "$ASTATE/results/last_flamegraph.html" ] && [ -L "$ASTATE/results/last_profile.col" ] ||
    fail "last_* links missing"
grep -q '<html' "$ASTATE/results/last_flamegraph.html" || fail "last_flamegraph.html is not HTML"
ok "newest result linked as last_flamegraph.html / last_profile.col"

wait_for 30 '[ "$(coord_continuous)" -ge 3 ] && [ "$(coord_samples)" -gt 0 ]' ||
    fail "coordinator has $(coord_continuous) profiles / $(coord_samples) samples after 30 s"
ok "continuous profiles arrive at the coordinator and are queryable ($(coord_continuous) so far)"

grep -q ';burn;' "$ASTATE"/results/profile_*.col || fail "the burn workload is missing from the host profile"
head -1 "$ASTATE/results/last_profile.col" | python3 -c '
import json, sys
h = json.loads(sys.stdin.read()[2:])
md = h["metadata"]
assert md["hostname"].startswith("gprof-test-"), md
assert md["continuous"] is True and md["run_mode"] == "continuous", md
assert h["sampling_frequency"] == 11, h
assert h["metrics"]["cpu_avg"] is not None and h["metrics"]["mem_avg"] is not None, h["metrics"]
' || fail "header of the last session: $(head -c 400 "$ASTATE/results/last_profile.col")"
if grep -rq SECRETTOKEN123 "$ASTATE/results" "$STATE"; then fail "the token was written into a profile"; fi
ok "header carries host facts, cpu_avg/mem_avg, no token"

wait_for 10 'grep -q "READY=1" "$WORK/notify.log" && grep -q "WATCHDOG=1" "$WORK/notify.log" && grep -q "STATUS=continuous: on" "$WORK/notify.log"' ||
    fail "sd_notify messages missing: $(head -c 600 "$WORK/notify.log")"
ok "sd_notify READY=1, STATUS=..., WATCHDOG=1"

# SIGHUP: a new frequency from the config file applies to the next sessions
printf 'frequency = 23\nkeep_results = 100\n' >"$CONF"
kill -HUP "$AGENT_PID"
wait_for 20 'grep -q "configuration reloaded" "$WORK/agent.log"' || fail "SIGHUP did not reload"
hz23() { head -1 "$ASTATE/results/last_profile.col" | grep -q '"sampling_frequency":23'; }
wait_for 20 hz23 || fail "sessions after SIGHUP do not run at 23 Hz"
kill -0 "$AGENT_PID" || fail "agent died on SIGHUP"
ok "SIGHUP reloads the configuration (now 23 Hz)"

# SIGTERM in the middle of a session: it is finished, kept and uploaded, exit status 0
n_before=$(local_sessions)
sleep 1.5
stop_agent TERM
[ "$AGENT_RC" = 0 ] || fail "agent exited with $AGENT_RC after SIGTERM"
[ "$(local_sessions)" -gt "$n_before" ] || fail "the interrupted session was not kept"
grep -q "STOPPING=1" "$WORK/notify.log" || fail "no STOPPING=1"
wait_for 20 coord_matches_local ||
    fail "after SIGTERM: coordinator $(coord_continuous)/$(coord_samples), local $(local_sessions)/$(local_samples)"
[ -z "$(ls "$ASTATE/spool" 2>/dev/null)" ] || fail "spool not empty after a clean stop"
[ ! -e "$SOCK" ] || fail "control socket left behind"
ok "SIGTERM finishes and uploads the current session, exits 0, removes its socket"
ok "every one of the $(local_sessions) sessions arrived exactly once ($(coord_samples) samples at the coordinator and locally)"

# without a coordinator: the whole local job
H= start_agent --keep-results 2
wait_for 20 '[ "$(local_sessions)" -ge 1 ] && "$GPROFCTL" status | grep -q "coordinator none"' ||
    fail "standalone agent status"
n0=$(local_sessions)
sleep 7
n1=$(local_sessions)
[ "$n1" -le 2 ] || fail "keep_results 2 not honoured: $n1 sessions kept"
[ -z "$(ls "$ASTATE/spool")" ] || fail "standalone agent spooled uploads"
stop_agent TERM
[ "$AGENT_RC" = 0 ] || fail "standalone agent exit status $AGENT_RC"
ok "without a coordinator results rotate locally (kept $n1, was $n0)"
