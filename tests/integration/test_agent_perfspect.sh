#!/bin/bash
# test_agent_perfspect.sh — acceptance (issue 5): an ad hoc profile_request with
# `enable_perfspect: true` runs PerfSpect counters beside the profiling session on the real agent;
# the upload carries the report, and the coordinator serves it per host at
# /api/metrics/html_metadata. On a host without a PMU the report says so in its one clear line.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"

start_coord "$WORK/state"
burn 60
A=$WPID
start_agent --no-continuous
HN=$HOSTNAME_
wait_for 20 '"$GPROFCTL" status --json | grep -q "\"last_ok\": [1-9]"' || fail "no heartbeat answered"
R=$(request "{\"service_name\":\"$SERVICE\",\"request_type\":\"start\",\"duration\":3,\"frequency\":99,\"target_hosts\":{\"$HN\":[$A]},\"additional_args\":{\"enable_perfspect\":true}}")
RID=$(echo "$R" | field 'd["request_id"]')
wait_for 40 '[ "$(exec_field "$RID" "e.get(\"status\")")" = completed ]' \
    || fail "the PerfSpect ad hoc request did not complete: $(req_json "$RID")"
ok "ad hoc request with enable_perfspect completed"
F="{\"filter\":{\"\$and\":[{\"HostName\":{\"\$eq\":\"$HN\"}}]}}"
wait_for 20 '[ "$(curl -s -o /dev/null -w "%{http_code}" -G "$H/api/metrics/html_metadata" --data-urlencode "serviceName=$SERVICE" --data-urlencode "filter=$F")" = 200 ]' \
    || fail "no PerfSpect report for $HN at the coordinator"
curl -s -G "$H/api/metrics/html_metadata" --data-urlencode "serviceName=$SERVICE" --data-urlencode "filter=$F" > "$WORK/ps.json"
python3 - "$WORK/ps.json" <<'PY' || fail "the served report is not the PerfSpect HTML: $(head -c 300 "$WORK/ps.json")"
import json, sys
d = json.load(open(sys.argv[1]))
html = d["content"]
assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:200], html[:200]
assert "context" in html.lower(), "software metrics missing"
pmu = "hardware counters not available on this host" in html
assert pmu or "IPC" in html, "neither hardware metrics nor the degraded-mode line"
assert "<script src" not in html and "http://" not in html and "https://" not in html, "report is not self-contained"
print("report: %d bytes, %s" % (len(html), "degraded mode (no PMU)" if pmu else "hardware metrics"))
PY
ok "the coordinator serves the host's PerfSpect report"
echo "PASS"
