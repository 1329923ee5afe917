#!/usr/bin/env bash
# test_ui_browser.sh — the coordinator's web UI (GET /, /ui/*) in headless Debian chromium against
# a real gprof-coordinator: empty states of a fresh one, then real gProfiler-style uploads:
# services, flame graph, search, top functions, host filter (RQL), summary, exports, Hosts page +
# Start dialog -> pending command the agent's heartbeat receives, Compare (diff), ad hoc results,
# API errors, an unknown service, a deep profile's root above the fold, hypervisor frames, the
# favicon (no console error at all), and with auth on the UI token prompt and stacksCount truncation.
# Set GPROF_SCREENSHOT_DIR to keep PNG screenshots.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"
browser_dir="$SRC/tests/browser"
command -v node >/dev/null || fail "node is not installed (nodejs is a test dependency)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "${CHROMIUM:-/usr/bin/chromium} missing (apt-get install chromium)"
[ -d "$browser_dir/node_modules/playwright-core" ] ||
    fail "playwright-core is not installed; run: (cd tests/browser && npm ci)"
export HOME="$WORK/home"
mkdir -p "$HOME"

# --- static files: served with type, CSP, ETag; unknown names 404 ---------------------------
STATE=$WORK/state
start_coord "$STATE" --auth off
curl -s -D "$WORK/h" -o "$WORK/index.html" "$H/" >/dev/null
grep -qi '^content-type: text/html' "$WORK/h" || fail "GET / is not text/html: $(cat "$WORK/h")"
grep -qi "^content-security-policy: default-src 'none'; script-src 'self'" "$WORK/h" || fail "GET / lacks the CSP"
grep -q 'src="/ui/app.js"' "$WORK/index.html" || fail "GET / is not index.html"
etag=$(curl -sI "$H/ui/app.js" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
[ -n "$etag" ] || fail "no ETag on /ui/app.js"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$H/ui/app.js")" = 304 ] ||
    fail "If-None-Match does not give 304"
curl -sI "$H/ui/flamegraph/model.js" | grep -qi '^content-type: text/javascript' || fail "flamegraph/model.js MIME"
curl -sI "$H/ui/app.css" | grep -qi '^content-type: text/css' || fail "app.css MIME"
expect_status 404 "no UI file" "$H/ui/missing.js"
curl -s -D "$WORK/h" -o "$WORK/favicon" "$H/favicon.ico" >/dev/null
grep -q '^HTTP/1.1 200' "$WORK/h" && grep -qi '^content-type: image/svg+xml' "$WORK/h" && grep -q '^<svg ' "$WORK/favicon" ||
    fail "GET /favicon.ico is not an SVG icon: $(head -1 "$WORK/h")"
expect_status 404 "no UI file" --path-as-is "$H/ui/../../etc/passwd"
ok "static UI files: MIME types, CSP, ETag/304, 404, favicon"

shots=()
[ -n "${GPROF_SCREENSHOT_DIR:-}" ] && mkdir -p "$GPROF_SCREENSHOT_DIR" && shots=(--shots "$GPROF_SCREENSHOT_DIR")
(cd "$browser_dir" && node ui.test.mjs --url "$H" --fresh 1 "${shots[@]}") ||
    fail "browser test of the UI on a fresh coordinator failed"

# --- real uploads: two hosts now, one baseline an hour and a half ago, one old service -------
cat >"$WORK/h1.col" <<'P'
# {"containers":["web"],"metadata":{"hostname":"ui-host-1","run_arguments":{"service_name":"checkout"}},"metrics":{"cpu_avg":31.5,"mem_avg":42.0}}
0;;checkout-api;_start;__libc_start_main;main;serve;hot_function 6100
0;;checkout-api;_start;__libc_start_main;main;serve;hot_function;mix_bits 900
0;;checkout-api;_start;__libc_start_main;main;serve;cold_function 1200
0;web;nginx;start_thread;ngx_worker_process_cycle;epoll_wait;do_syscall_64_[k] 500
0;;swapper;secondary_startup_64_no_verify_[k];do_idle_[k] 400
P
cat >"$WORK/h2.col" <<'P'
# {"containers":[],"metadata":{"hostname":"ui-host-2","run_arguments":{"service_name":"checkout"}},"metrics":{"cpu_avg":18.0,"mem_avg":37.5}}
0;;checkout-api;_start;__libc_start_main;main;serve;hot_function 3100
0;;checkout-api;_start;__libc_start_main;main;serve;cold_function 900
0;;python3;Py_RunMain;_PyEval_EvalFrameDefault;handle (/app/server.py:42)_[p] 300
0;;checkout-api;_start;__libc_start_main;main;serve;cold_function;entry_SYSCALL_64_[k];do_syscall_64_[k];_raw_spin_unlock_irqrestore_[k];pvm_irq_enable_[k] 200
P
# a stack 60 frames deep: the page must still show the root and the widest frames above the fold
printf '0;;checkout-api;_start;__libc_start_main;main;serve%s 300\n' "$(seq -f ';recurse_%g' 1 60 | tr -d '\n')" >>"$WORK/h2.col"
cat >"$WORK/base.col" <<'P'
# {"containers":[],"metadata":{"hostname":"ui-host-1","run_arguments":{"service_name":"checkout"}},"metrics":{"cpu_avg":12.0,"mem_avg":40.0}}
0;;checkout-api;_start;__libc_start_main;main;serve;hot_function 1000
0;;checkout-api;_start;__libc_start_main;main;serve;cold_function 4000
P
cat >"$WORK/old.col" <<'P'
# {"containers":[],"metadata":{"hostname":"legacy-1","run_arguments":{"service_name":"legacy"}},"metrics":{"cpu_avg":5.0,"mem_avg":10.0}}
0;;legacy;main;old_function 100
P
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
BASE=$(date -u -d '-90 min' +%Y-%m-%dT%H:%M:%S)
OLD=$(date -u -d '-3 days' +%Y-%m-%dT%H:%M:%S)
make_body "$WORK/b1.gz" "$NOW" ui-host-1 "$WORK/h1.col"
make_body "$WORK/b2.gz" "$NOW" ui-host-2 "$WORK/h2.col"
make_body "$WORK/b3.gz" "$BASE" ui-host-1 "$WORK/base.col"
make_body "$WORK/b4.gz" "$OLD" legacy-1 "$WORK/old.col"
for x in "b1 checkout ui-host-1" "b2 checkout ui-host-2" "b3 checkout ui-host-1" "b4 legacy legacy-1"; do
    set -- $x
    r=$(upload "$WORK/$1.gz" "$2" "$3" no-token-needed-on-loopback)
    [ "${r%% *}" = 200 ] || fail "upload $1: $r"
done
# wait until all three checkout uploads are indexed (total samples = 6100+900+1200+500+400+3100+900+300+200+300+1000+4000)
T0=$(date -u -d '-4 hours' +%Y-%m-%dT%H:%M:%S)
T1=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S)
for _ in $(seq 1 200); do
    v=$(curl -s "$H/api/flamegraph?serviceName=checkout&startTime=$T0&endTime=$T1" | jq -r '.value // 0' 2>/dev/null || echo 0)
    [ "$v" = 18900 ] && break
    sleep 0.05
done
[ "$v" = 18900 ] || fail "uploads not indexed: total $v, want 18900"
for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$H/api/flamegraph?serviceName=legacy&startTime=$(date -u -d '-4 days' +%Y-%m-%dT%H:%M:%S)&endTime=$T1")" = 200 ] && break
    sleep 0.05
done
ok "4 uploads indexed"

# a heartbeat, as the agent sends it, so the Hosts page has a host to profile
hb=$(curl -s -X POST "$H/api/metrics/heartbeat" -H 'Content-Type: application/json' \
    -d '{"ip_address":"10.0.0.7","hostname":"ui-host-1","service_name":"checkout","last_command_id":null,"received_command_ids":[],"executed_command_ids":[],"status":"active","agent_version":"1.57.1"}')
echo "$hb" | jcheck '.success == true' || fail "heartbeat: $hb"

(cd "$browser_dir" && node ui.test.mjs --url "$H" --service checkout --hot hot_function --host ui-host-1 \
    --cols "$WORK/h1.col,$WORK/h2.col" --host-col "$WORK/h1.col" --old-service legacy --hv-frame 'pvm_irq_enable_[k]' "${shots[@]}") ||
    fail "browser test of the UI failed"

# the Start dialog's request reached the control plane: a pending start for ui-host-1
hs=$(curl -s "$H/api/metrics/profiling/host_status?service_name=checkout&hostname=ui-host-1&exact_match=true")
echo "$hs" | jcheck '.[0].command_type == "start" and .[0].profiling_status == "pending" and .[0].pids == [4242]' ||
    fail "host status after the Start dialog: $hs"
hb=$(curl -s -X POST "$H/api/metrics/heartbeat" -H 'Content-Type: application/json' \
    -d '{"ip_address":"10.0.0.7","hostname":"ui-host-1","service_name":"checkout","status":"active"}')
echo "$hb" | jcheck '.profiling_command.combined_config.duration == 30 and .profiling_command.combined_config.frequency == 49 and .profiling_command.combined_config.enable_perfspect == true' ||
    fail "the agent's heartbeat does not get the UI's command: $hb"
ok "the UI's profile request is what the agent receives (duration 30, 49 Hz, pid 4242, PerfSpect)"

# --- an ad hoc session's result: gprof's own HTML export inside the agent's upload header ------
printf '0;;adhoc-job;main;adhoc_hot 700\n0;;adhoc-job;main;adhoc_cold 100\n' >"$WORK/adhoc.col"
"$BUILD/tests/unit_html" --generate "$WORK/adhoc.col" "$WORK/adhoc.html" "ad hoc" >/dev/null ||
    fail "unit_html --generate (build the unit tests)"
python3 - "$WORK/adhoc.html" "$WORK/adhoc.col" "$WORK/adhoc.prof" <<'PY'
import json, sys
html = open(sys.argv[1]).read()
hdr = {"metadata": {"hostname": "ui-host-adhoc", "run_arguments": {"service_name": "checkout", "continuous": False}},
       "flamegraph_html": html}
with open(sys.argv[3], "w") as f:
    f.write("# " + json.dumps(hdr) + "\n" + open(sys.argv[2]).read())
PY
make_body "$WORK/b6.gz" "$NOW" ui-host-adhoc "$WORK/adhoc.prof"
r=$(upload "$WORK/b6.gz" checkout ui-host-adhoc no-token-needed-on-loopback)
[ "${r%% *}" = 200 ] || fail "ad hoc upload: $r"
for _ in $(seq 1 200); do
    [ "$(curl -s "$H/api/metrics/adhoc_flamegraphs?serviceName=checkout&startTime=$T0&endTime=$T1" | jq length)" = 1 ] && break
    sleep 0.05
done
(cd "$browser_dir" && node ui.test.mjs --url "$H" --service checkout --hot adhoc_hot --adhoc ui-host-adhoc "${shots[@]}") ||
    fail "browser test of the Ad hoc results page failed"
stop_coord

# --- auth on: sign-in (cookie + CSRF) and sign-out; then the UI asks for the token once and uses it;
# stacksCount truncation is explained ---
STATE2=$WORK/state2
TOK=$(coord_admin token create --service checkout --state-dir "$STATE2" 2>/dev/null)
echo 'ana-Pass-7' | coord_admin user add ana --role admin --state-dir "$STATE2" >/dev/null ||
    fail "user add ana"
PORT=$(free_port) start_coord "$STATE2" --auth on --ui-token UI-SECRET-42 --set stacks_count_default=2
make_body "$WORK/b5.gz" "$NOW" ui-host-1 "$WORK/h1.col"
r=$(upload "$WORK/b5.gz" checkout ui-host-1 "$TOK")
[ "${r%% *}" = 200 ] || fail "upload with auth on: $r"
expect_status 401 "authentication required" "$H/api/services"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$H/")" = 200 ] || fail "the UI page itself needs no credentials"
for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer UI-SECRET-42' "$H/api/flamegraph?serviceName=checkout&startTime=$T0&endTime=$T1")" = 200 ] && break
    sleep 0.05
done
(cd "$browser_dir" && node ui.test.mjs --url "$H" --service checkout --hot hot_function --auth UI-SECRET-42 --user ana --password ana-Pass-7 --full-total 9100 "${shots[@]}") ||
    fail "browser test of the UI with auth on failed"
stop_coord
ok "UI browser tests passed"
