#!/bin/bash
# test_coordinator_metrics.sh — GET /metrics: every line valid Prometheus text format (checked by
# prom_check.py, and by promtool when installed); the counters move with a heartbeat, an upload
# and a refused request; who may read it: anyone with auth off (loopback), the UI token with auth
# on, anyone again with metrics_public = on.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"
CHECK=$(dirname "$0")/prom_check.py

scrape() { # OUT.json [curl args] — scrapes, checks the format, keeps the samples as JSON
    local out=$1
    shift
    curl -s -o "$WORK/metrics.txt" -w '%{http_code} %{content_type}' "$@" "$H/metrics" >"$WORK/scrape.st"
    grep -q '^200 text/plain; version=0.0.4' "$WORK/scrape.st" || fail "scrape: $(cat "$WORK/scrape.st")"
    python3 "$CHECK" "$WORK/metrics.txt" >"$out" || fail "invalid exposition format (above)"
    if command -v promtool >/dev/null; then
        promtool check metrics <"$WORK/metrics.txt" || fail "promtool check metrics"
    fi
}

start_coord "$WORK/state"
scrape "$WORK/m0.json"
grep -q "^gprof_build_info{version=\"$("$COORD" --version | cut -d' ' -f2)\"} 1$" "$WORK/metrics.txt" ||
    fail "no build info: $(grep build_info "$WORK/metrics.txt")"
for s in gprof_index_outbox_depth gprof_index_lag_seconds gprof_heartbeats_total \
    gprof_ingest_profiles_total 'gprof_ingest_bytes_total{encoding="wire"}' \
    'gprof_http_errors_total{kind="auth"}'; do
    grep -q "^$s " "$WORK/metrics.txt" || fail "series $s missing"
done
ok "/metrics is valid exposition format with build info, outbox, lag, ingest and error series"

# --- traffic: a heartbeat, an upload, a 404 ---------------------------------------------------
curl -s -X POST "$H/api/metrics/heartbeat" -H 'Content-Type: application/json' \
    -d '{"ip_address":"10.1.0.9","hostname":"h1","service_name":"svc","last_command_id":null,"status":"active","timestamp":"2026-01-01T00:00:00","received_command_ids":[],"executed_command_ids":[]}' >/dev/null
printf '# {"containers":[],"metadata":{"hostname":"h1","run_arguments":{"service_name":"svc","continuous":true}},"metrics":{"cpu_avg":1.0,"mem_avg":2.0}}\nmain;work 7\nmain;idle 3\n' >"$WORK/p.col"
make_body "$WORK/b.gz" "$(date -u +%Y-%m-%dT%H:%M:%S)" h1 "$WORK/p.col"
r=$(upload "$WORK/b.gz" svc h1 x)
[ "${r%% *}" = 200 ] || fail "upload: $r"
curl -s "$H/no/such/thing" >/dev/null
scrape "$WORK/m1.json"
python3 - "$WORK/m0.json" "$WORK/m1.json" "$(stat -c %s "$WORK/b.gz")" <<'PY' || fail "counters"
import json, sys
m0, m1, wire = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
want = {
    "gprof_heartbeats_total": 1,
    "gprof_ingest_profiles_total": 1,
    "gprof_ingest_samples_total": 10,
    'gprof_ingest_bytes_total{encoding="wire"}': wire,
    'gprof_http_requests_total{code="200",endpoint="/api/v2/profiles",method="POST"}': 1,
    'gprof_http_requests_total{code="200",endpoint="/api/metrics/heartbeat",method="POST"}': 1,
    'gprof_http_requests_total{code="404",endpoint="unmatched",method="any"}': 1,
    'gprof_http_errors_total{kind="not_found"}': 1,
    'gprof_http_request_duration_seconds_count{endpoint="/api/v2/profiles",method="POST"}': 1,
    'gprof_http_requests_total{code="200",endpoint="/metrics",method="GET"}': 1,  # the 1st scrape
}
bad = [f"{k}: moved by {m1.get(k, 0) - m0.get(k, 0)}, expected {v}" for k, v in want.items()
       if m1.get(k, 0) - m0.get(k, 0) != v]
if m1['gprof_ingest_bytes_total{encoding="decoded"}'] <= wire:
    bad.append("decoded bytes not above the gzip size")
if bad:
    sys.exit("\n".join(bad))
PY
ok "counters move with a heartbeat, an upload and a 404"
stop_coord

# --- who may read it --------------------------------------------------------------------------
PORT= start_coord "$WORK/state" --auth on --ui-token sekrit
expect_status 401 "" "$H/metrics"
scrape "$WORK/m2.json" -H "Authorization: Bearer sekrit"
stop_coord
PORT= start_coord "$WORK/state" --auth on --ui-token sekrit --metrics-public on
scrape "$WORK/m3.json"
stop_coord
ok "with auth on /metrics needs the UI token, unless metrics_public = on"
