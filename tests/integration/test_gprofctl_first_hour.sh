#!/bin/bash
# test_gprofctl_first_hour.sh — what a new user meets first (issue 11), against the real agent
# and coordinator: -o with an unknown extension is refused with the known ones; .col files from
# `record` and from the agent end with a newline; `hosts` shows the agent's continuous
# profiling; `start --host H` works without --service and says once what it waits for; flamegraph
# names the host filter, refuses --since without a unit and says "doesn't exist"; `stop` with
# nothing running says so; `status` prints the spool in human units.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"

# --- output formats and durations, before anything runs ------------------------------------------
out=$("$GPROFCTL" record -d 1 -o "$WORK/x.svg" 2>&1) && fail "record -o x.svg accepted"
grep -q "unknown extension" <<<"$out" && grep -q ".html" <<<"$out" &&
    grep -q ".pb.gz" <<<"$out" || fail "record -o x.svg: no list of extensions: $out"
[ ! -e "$WORK/x.svg" ] || fail "record -o x.svg wrote a file"
export GPROF_COORDINATOR=http://127.0.0.1:1
rc=0
out=$("$GPROFCTL" flamegraph --service s -o "$WORK/x.svg" 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q ".json" <<<"$out" || fail "flamegraph -o x.svg (rc $rc): $out"
rc=0
out=$("$GPROFCTL" flamegraph --service s --since 2 -o "$WORK/x.html" 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q "s (seconds), m (minutes), h (hours) or d (days)" <<<"$out" ||
    fail "--since 2 without a unit (rc $rc): $out"
unset GPROF_COORDINATOR
ok "-o with an unknown extension and --since without a unit are refused with what is accepted"

"$GPROFCTL" record -q -d 1 -o "$WORK/rec.col" >/dev/null 2>&1 || fail "record -o rec.col failed"
[ "$(tail -c 1 "$WORK/rec.col" | od -An -c | tr -d ' ')" = '\n' ] ||
    fail "record's .col lacks a final newline: $(tail -c 40 "$WORK/rec.col" | od -c | tail -3)"
ok "gprofctl record's .col ends with a newline"

# --- the agent, continuous, with a coordinator ------------------------------------------------------
STATE=$WORK/state
start_coord "$STATE"
export GPROF_COORDINATOR=$H
start_agent -F 11
HN=$HOSTNAME_
wait_for 20 '[ "$(coord_continuous)" -ge 1 ]' || fail "no continuous profile uploaded"
COL=$ASTATE/results/last_profile.col
[ "$(tail -c 1 "$COL" | od -An -c | tr -d ' ')" = '\n' ] || fail "the agent's .col lacks a final newline"
ok "the agent's .col ends with a newline (the upload is unchanged: the coordinator stored it)"

"$GPROFCTL" hosts >"$WORK/hosts.out"
grep -q "^$HN .* continuous 11 Hz" "$WORK/hosts.out" || fail "hosts does not show continuous profiling: $(cat "$WORK/hosts.out")"
if grep "^$HN " "$WORK/hosts.out" | grep -q "stopped"; then fail "hosts says stopped: $(cat "$WORK/hosts.out")"; fi
"$GPROFCTL" hosts --json | python3 -c "
import json, sys
h = [h for h in json.load(sys.stdin) if h['hostname'] == '$HN'][0]
s = h['running_sessions']
assert [x['slot'] for x in s] == ['continuous'] and s[0]['frequency'] == 11, h
assert s[0]['source'] == 'config' and h['heartbeat_interval_s'] >= 1, h
" || fail "host_status lacks running_sessions: $("$GPROFCTL" hosts --json)"
ok "gprofctl hosts shows the agent's continuous profiling ($(grep "^$HN " "$WORK/hosts.out" | tr -s ' '))"

# --- status and stop on this host ---------------------------------------------------------------------
"$GPROFCTL" status | grep -Eq "^spool .*\(0 B of 256 MiB\)" || fail "spool not in human units: $("$GPROFCTL" status | grep spool)"
ok "status prints the spool in human units"
rc=0
out=$("$GPROFCTL" stop 2>&1) || rc=$?
[ "$rc" = 0 ] && grep -q "^nothing to stop: " <<<"$out" || fail "stop with nothing running (rc $rc): $out"
"$GPROFCTL" stop --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['stopped'] is False, d" ||
    fail "stop --json with nothing running"
if grep -q "gprofctl command .*stop" "$WORK/agent.log"; then fail "a stop was queued although nothing ran"; fi
idle 300
rc=0
out=$("$GPROFCTL" stop --pid "$WPID" 2>&1) || rc=$?
[ "$rc" = 0 ] && grep -q "^nothing to stop: " <<<"$out" || fail "stop --pid with no session (rc $rc): $out"
ok "stop with nothing running says so and exits 0 ($out)"

# a local start queued behind another session says each state once when stderr is not a terminal
FIRST=$("$GPROFCTL" start -d 3 --no-wait)
"$GPROFCTL" start -d 1 >"$WORK/start2.out" 2>"$WORK/start2.err" || fail "queued start failed: $(cat "$WORK/start2.err")"
grep -q ": queued" "$WORK/start2.err" || fail "the second start was not queued behind $FIRST: $(cat "$WORK/start2.err")"
[ -z "$(sort "$WORK/start2.err" | uniq -d)" ] && [ "$(wc -l <"$WORK/start2.err")" -le 2 ] ||
    fail "start repeats its state: $(sort "$WORK/start2.err" | uniq -c)"
ok "a queued local start says 'queued' once, then 'profiling' once: $(tr '\n' '|' <"$WORK/start2.err")"

# --- fleet start by host alone -------------------------------------------------------------------
"$GPROFCTL" start --host "$HN" -d 2 -F 49 >"$WORK/fleet.out" 2>"$WORK/fleet.err" ||
    fail "start --host without --service: $(cat "$WORK/fleet.err")"
grep -q "^$HN .*completed" "$WORK/fleet.out" || fail "fleet start by host: $(cat "$WORK/fleet.out")"
[ -z "$(sort "$WORK/fleet.err" | uniq -d)" ] || fail "start repeats itself while waiting: $(cat "$WORK/fleet.err")"
grep -q "^$HN: " "$WORK/fleet.err" || fail "start does not say what it waits for: $(cat "$WORK/fleet.err")"
[ "$(wc -l <"$WORK/fleet.err")" -le 4 ] || fail "start printed too much while waiting: $(cat "$WORK/fleet.err")"
ok "start --host H finds the host's service and says once per step what it waits for: $(tr '\n' '|' <"$WORK/fleet.err")"
rc=0
out=$("$GPROFCTL" start --host nosuchhost -d 2 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q "no host named nosuchhost" <<<"$out" || fail "start --host nosuchhost (rc $rc): $out"
ok "an unknown host is named"

# --- flamegraph messages ------------------------------------------------------------------------------
out=$("$GPROFCTL" flamegraph --service "$SERVICE" --host nosuchhost -o "$WORK/h.html" 2>&1) &&
    fail "flamegraph --host nosuchhost succeeded"
grep -q "host nosuchhost" <<<"$out" || fail "flamegraph does not name the host filter: $out"
out=$("$GPROFCTL" flamegraph --service nosuchservice -o "$WORK/s.html" 2>&1) && fail "unknown service succeeded"
grep -q "service nosuchservice doesn't exist[^s]" <<<"$out" || fail "unknown service message: $out"
ok "flamegraph names the host filter and says an unknown service doesn't exist"

stop_agent TERM
[ "$AGENT_RC" = 0 ] || fail "agent exit status $AGENT_RC"
