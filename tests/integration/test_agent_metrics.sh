#!/bin/bash
# test_agent_metrics.sh — the agent's counters: `gprofctl status --json` carries samples, drops by
# reason, symbolization, uploads, spool and heartbeat figures that move as sessions finish and
# upload; the local GET /metrics is off by default (no TCP listener at all), refused on a
# non-loopback address, and valid Prometheus text on 127.0.0.1 when metrics_listen is set.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"
CHECK=$(dirname "$0")/prom_check.py

STATE=$WORK/state
start_coord "$STATE"

# --- off by default; counters in status --json -------------------------------------------------
start_agent
wait_for 30 '"$GPROFCTL" status --json | python3 -c "import json,sys; c=json.load(sys.stdin)[\"counters\"]; sys.exit(0 if c[\"uploads\"] >= 1 and c[\"samples\"] > 0 and c[\"heartbeats\"] >= 1 else 1)"' ||
    fail "counters did not move: $("$GPROFCTL" status --json | tail -30)"
"$GPROFCTL" status --json >"$WORK/st.json"
python3 - "$WORK/st.json" <<'PY' || fail "status counters: $(cat "$WORK/st.json")"
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
for k in ("sessions", "samples", "frames", "frames_unresolved", "heartbeats", "heartbeat_failures",
          "uploads", "upload_failures", "spool_bytes", "spool_items", "spool_dropped"):
    assert isinstance(c[k], int) and c[k] >= 0, k
assert set(c["drops"]) == {"user_stack", "kernel_stack", "map_full", "ring_lost", "events_lost", "malformed"}, c["drops"]
assert 0 < c["symbolized_ratio"] <= 1, c["symbolized_ratio"]
assert c["frames"] >= c["frames_unresolved"] and c["frames"] > 0, c
assert c["heartbeat_failures"] == 0, c
PY
if ss -ltnpH 2>/dev/null | grep -q "pid=$AGENT_PID,"; then
    fail "the agent listens on TCP without metrics_listen: $(ss -ltnpH | grep "pid=$AGENT_PID,")"
fi
stop_agent
ok "status --json carries the counters and they move; no /metrics listener by default"

# --- loopback only ------------------------------------------------------------------------------
MP=$(free_port)
# exit status 1, a refused start: under ASan a failed start that leaked what it had opened (the
# spool, the upload thread, the configuration) aborted at LeakSanitizer's check with 134
rc=0
timeout 60 "$AGENT" --coordinator "$H" --state-dir "$ASTATE" --control-socket "$SOCK" \
    --metrics-listen 0.0.0.0:"$MP" >"$WORK/m.err" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "metrics_listen on 0.0.0.0 was accepted"
[ "$rc" = 1 ] || fail "a refused metrics_listen exits with $rc, not 1: $(tail -5 "$WORK/m.err")"
grep -q "loopback address only" "$WORK/m.err" || fail "unclear refusal: $(cat "$WORK/m.err")"
ok "metrics_listen off loopback is refused"

# --- local /metrics -----------------------------------------------------------------------------
start_agent --metrics-listen 127.0.0.1:"$MP"
wait_for 30 'curl -s "http://127.0.0.1:$MP/metrics" | grep -q "^gprof_agent_uploads_total [1-9]"' ||
    fail "no uploads counted on /metrics: $(curl -s "http://127.0.0.1:$MP/metrics" | head -40)"
curl -s -o "$WORK/am.txt" -w '%{http_code} %{content_type}\n' "http://127.0.0.1:$MP/metrics" >"$WORK/am.st"
grep -q '^200 text/plain; version=0.0.4' "$WORK/am.st" || fail "scrape: $(cat "$WORK/am.st")"
python3 "$CHECK" "$WORK/am.txt" >"$WORK/am.json" || fail "invalid exposition format"
for s in gprof_agent_samples_total 'gprof_agent_dropped_total{reason="map_full"}' \
    gprof_agent_symbolized_ratio gprof_agent_heartbeat_failures_total gprof_agent_spool_bytes; do
    grep -q "^$s " "$WORK/am.txt" || fail "series $s missing"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/other")" = 404 ] || fail "not 404"
stop_agent
ok "metrics_listen on 127.0.0.1: valid Prometheus text with the agent's counters"
