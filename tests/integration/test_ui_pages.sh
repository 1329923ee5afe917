#!/usr/bin/env bash
# test_ui_pages.sh — the web UI's pages of issue 17 (Services home, timeline brushing, sandwich
# view, Compare presets, PerfSpect view, keys, URL state) in headless Debian chromium against a
# real gprof-coordinator seeded with known profiles (tests/browser/pages.test.mjs); the
# /api/services/summary and /api/flamegraph/sandwich answers checked with curl first.
# Screenshots go to GPROF_SCREENSHOT_DIR (else the work dir) and are checked not blank.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"
browser_dir="$SRC/tests/browser"
command -v node >/dev/null || fail "node is not installed (nodejs is a test dependency)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "${CHROMIUM:-/usr/bin/chromium} missing (apt-get install chromium)"
[ -d "$browser_dir/node_modules/playwright-core" ] ||
    fail "playwright-core is not installed; run: (cd tests/browser && npm ci)"
export HOME="$WORK/home"
mkdir -p "$HOME"

STATE=$WORK/state
# the flame graph keeps the 3 heaviest stacks: the sandwich must still count every stack
start_coord "$STATE" --auth off --set stacks_count_default=3

cat >"$WORK/h1.col" <<'P'
# {"containers":[],"metadata":{"hostname":"shop-1","run_arguments":{"service_name":"shop"}},"metrics":{"cpu_avg":30.0,"mem_avg":40.0}}
0;;shop-api;main;handle_request;parse_json;hot_fn 700
0;;shop-api;main;batch_job;hot_fn 300
0;;shop-api;main;batch_job;hot_fn;compress 200
0;;shop-api;main;handle_request;render 500
0;;python3;Py_RunMain;handle (/app/x.py:3)_[p] 150
0;;shop-api;main;handle_request;entry_SYSCALL_64_[k];do_syscall_64_[k] 100
P
python3 - "$WORK/h2.col" <<'PY'
import base64, gzip, json, sys
report = ("<html><head><title>PerfSpect metrics</title><script>alert(1)</script></head><body>"
          "<h1>Metrics summary</h1><p>Collected during the ad hoc session.</p>"
          "<table><tr><th>Metric</th><th>Value</th></tr><tr><td>CPI</td><td>0.85</td></tr>"
          "<tr><td>L2 MPI</td><td>0.0123</td></tr></table></body></html>")
hdr = {"containers": [], "metadata": {"hostname": "shop-2", "run_arguments": {"service_name": "shop"}},
       "metrics": {"cpu_avg": 20.0, "mem_avg": 30.0},
       "htmlblob": base64.b64encode(gzip.compress(report.encode())).decode()}
with open(sys.argv[1], "w") as f:
    f.write("# " + json.dumps(hdr) + "\n")
    f.write("0;;shop-api;main;handle_request;parse_json;hot_fn 400\n")
    f.write("0;;java;Interpreter;com.shop.Cart.total_[j] 120\n")
    f.write("0;;shop-api;main;handle_request;render 900\n")
PY
cat >"$WORK/base.col" <<'P'
# {"containers":[],"metadata":{"hostname":"shop-1","run_arguments":{"service_name":"shop"}},"metrics":{"cpu_avg":10.0,"mem_avg":40.0}}
0;;shop-api;main;handle_request;parse_json;hot_fn 100
0;;shop-api;main;handle_request;render 2000
P
cat >"$WORK/bill.col" <<'P'
# {"containers":[],"metadata":{"hostname":"bill-1","run_arguments":{"service_name":"billing"}},"metrics":{"cpu_avg":5.0,"mem_avg":10.0}}
0;;billing;main;invoice 250
P
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
BASE=$(date -u -d '-90 min' +%Y-%m-%dT%H:%M:%S)
make_body "$WORK/b1.gz" "$NOW" shop-1 "$WORK/h1.col"
make_body "$WORK/b2.gz" "$NOW" shop-2 "$WORK/h2.col"
make_body "$WORK/b3.gz" "$BASE" shop-1 "$WORK/base.col"
make_body "$WORK/b4.gz" "$NOW" bill-1 "$WORK/bill.col"
for x in "b1 shop shop-1" "b2 shop shop-2" "b3 shop shop-1" "b4 billing bill-1"; do
    set -- $x
    r=$(upload "$WORK/$1.gz" "$2" "$3" no-token-needed-on-loopback)
    [ "${r%% *}" = 200 ] || fail "upload $1: $r"
done
T0=$(date -u -d '-4 hours' +%Y-%m-%dT%H:%M:%S)
T1=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S)
for _ in $(seq 1 200); do
    v=$(curl -s "$H/api/flamegraph?serviceName=shop&startTime=$T0&endTime=$T1&stacksCount=1000" | jq -r '.value // 0' 2>/dev/null || echo 0)
    b=$(curl -s "$H/api/flamegraph?serviceName=billing&startTime=$T0&endTime=$T1" | jq -r '.value // 0' 2>/dev/null || echo 0)
    [ "$v" = 5470 ] && [ "$b" = 250 ] && break
    sleep 0.05
done
[ "$v" = 5470 ] && [ "$b" = 250 ] || fail "uploads not indexed: shop $v (want 5470), billing $b (want 250)"
ok "4 uploads indexed"

# --- the two new endpoints -------------------------------------------------------------------
S=$(curl -s "$H/api/services/summary?startTime=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%S)&endTime=$T1")
echo "$S" | jcheck '(.services | map(.name) | sort) == ["billing","shop"]' || fail "summary services: $S"
echo "$S" | jcheck '(.services[] | select(.name=="shop")) as $s | $s.samples == 3370 and $s.activeHosts == 2 and ($s.hosts|length) == 2 and ($s.spark|add) == 3370 and ($s.spark|length) == 24 and $s.avgCpu > 0 and $s.lastData != null' ||
    fail "summary of shop: $S"
expect_status 400 "endTime must be after startTime" "$H/api/services/summary?startTime=$T1&endTime=$T0"
ok "GET /api/services/summary: services, hosts, sparkline, samples"
W=$(curl -s "$H/api/flamegraph/sandwich?serviceName=shop&startTime=$T0&endTime=$T1&function=hot_fn")
echo "$W" | jcheck '.total == 1700 and .self == 1500 and .samples == 5470 and .callers.value == 1700 and (.callers.children | map({(.name): .value}) | add) == {"parse_json":1200,"batch_job":500} and (.callees.children | map({(.name): .value}) | add) == {"compress":200}' ||
    fail "sandwich of hot_fn: $W"
echo "$W" | jcheck '[.callers.children[] | select(.name=="parse_json") | .children[0].name, .children[0].children[0].name, .children[0].children[0].children[0].name] == ["handle_request","main","shop-api"]' ||
    fail "sandwich callers path: $W"
F=$(curl -s "$H/api/flamegraph/sandwich?serviceName=shop&startTime=$T0&endTime=$T1&function=hot_fn&filter=%7B%22filter%22%3A%7B%22HostName%22%3A%7B%22%24eq%22%3A%22shop-2%22%7D%7D%7D")
echo "$F" | jcheck '.total == 400 and (.callees.children | length) == 0' || fail "sandwich with a host filter: $F"
expect_status 400 "function is required" "$H/api/flamegraph/sandwich?serviceName=shop&startTime=$T0&endTime=$T1"
N=$(curl -s "$H/api/flamegraph/sandwich?serviceName=shop&startTime=$T0&endTime=$T1&function=nope")
echo "$N" | jcheck '.total == 0 and .callers.children == []' || fail "sandwich of an absent function: $N"
ok "GET /api/flamegraph/sandwich: exact callers and callees from every stack, filters, errors"

shots=${GPROF_SCREENSHOT_DIR:-$WORK/shots}
(cd "$browser_dir" && node pages.test.mjs --url "$H" --shots "$shots") || fail "browser test of the UI pages failed"
stop_coord
ok "UI pages browser test passed"
