#!/bin/bash
# test_coordinator_api.sh — the real coordinator over real HTTP: gProfiler-style gzip uploads are
# queryable with exactly the merged counts; filters, truncation, exports, diff, services, ad hoc
# flame graphs; auth (401), 400 with precise messages, 404/405/406/411/413, gzip bomb, path
# traversal; tokens are never stored; SIGTERM exits 0.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

STATE=$WORK/state
TOK=$(coord_admin token create --service svc --state-dir "$STATE" 2>/dev/null)
TOK2=$(coord_admin token create --service other --state-dir "$STATE" 2>/dev/null)
[ -n "$TOK" ] && [ "$TOK" != "$TOK2" ] || fail "token create printed no token"
coord_admin token list --state-dir "$STATE" >"$WORK/tokens"
grep -q svc "$WORK/tokens" || fail "token list lacks svc"
ok "token create/list"

# a stand-in for systemd's notification socket
python3 - "$WORK/notify.sock" "$WORK/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode() + "\n")
        f.flush()
PY
NOTIFY_PID=$!
# killed on every exit: left running after a failure it held ctest's output pipe open, and the
# test "timed out" after 600 s instead of failing (what coordinator_api@fleet did)
trap 'kill "$NOTIFY_PID" 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 200); do [ -S "$WORK/notify.sock" ] && break; sleep 0.05; done
NOTIFY_SOCKET=$WORK/notify.sock start_coord "$STATE" --auth on --ui-token UITOKEN --max-decompressed-bytes 16MiB
for _ in $(seq 1 100); do grep -q READY=1 "$WORK/notify.log" 2>/dev/null && break; sleep 0.05; done
grep -q READY=1 "$WORK/notify.log" || fail "no READY=1 on NOTIFY_SOCKET"
grep -q "STATUS=listening on 127.0.0.1:$PORT" "$WORK/notify.log" || fail "no STATUS on NOTIFY_SOCKET: $(cat "$WORK/notify.log")"
ok "sd_notify READY and STATUS"
UI=(-H "Authorization: Bearer UITOKEN")

# --- uploads exactly as a gProfiler agent sends them ------------------------------------------
cat >"$WORK/p1.col" <<'P'
# {"containers":["web"],"container_names_enabled":true,"metadata":{"hostname":"h1","agent_version":"1.57.1","cloud_info":{"instance_type":"m5.large"},"run_arguments":{"service_name":"svc","server_token":"SECRET-TOKEN-1","frequency":11,"duration":60,"continuous":true}},"metrics":{"cpu_avg":12.5,"mem_avg":40.0},"application_metadata":[null],"application_metadata_enabled":true,"profiling_mode":"cpu"}
0;;python;main;foo;bar 5
0;;python;main;foo 3
0;web;java;main;baz_[j] 2
0;;swapper;secondary_startup_64_no_verify_[k];cpu_idle_[k] 7
P
cat >"$WORK/p2.col" <<'P'
# {"containers":[],"metadata":{"hostname":"h2","run_arguments":{"service_name":"svc","token":"SECRET-TOKEN-2","continuous":true}},"metrics":{"cpu_avg":20.0,"mem_avg":50.0}}
0;;python;main;foo;bar 11
0;;python;main;qux 4
0;db;postgres;main;exec_[k] 6
P
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
T0=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S)
T1=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%S)
make_body "$WORK/b1.gz" "$NOW" h1 "$WORK/p1.col"
make_body "$WORK/b2.gz" "$NOW" h2 "$WORK/p2.col"

r=$(upload "$WORK/b1.gz" svc h1 nope)
[ "${r%% *}" = 401 ] || fail "upload with a bad token: $r"
r=$(upload "$WORK/b1.gz" svc h1 "$TOK2")
[ "${r%% *}" = 401 ] || fail "upload with another service's token: $r"
expect_status 401 "missing agent token" -X POST "$H/api/v2/profiles?service=svc" \
    -H 'GPROFILER-SERVICE-NAME: svc' -H 'Content-Encoding: gzip' --data-binary @"$WORK/b1.gz"
ok "401 without a valid token"

r=$(upload "$WORK/b1.gz" svc h1 "$TOK")
[ "$r" = '200 {"message":"ok","gpid":1}' ] || fail "upload 1: $r"
r=$(upload "$WORK/b2.gz" svc h2 "$TOK" -H "X-Gprof-Upload-Id: agent-upload-2")
echo "$r" | grep -q '^200 {"message":"ok","gpid":' || fail "upload 2: $r"
# retries are stored once: same body again, and same upload id with another body
r=$(upload "$WORK/b1.gz" svc h1 "$TOK")
[ "${r%% *}" = 200 ] || fail "retry 1: $r"
r=$(upload "$WORK/b2.gz" svc h2 "$TOK" -H "Authorization: Bearer $TOK" -H "X-Gprof-Upload-Id: agent-upload-2")
[ "${r%% *}" = 200 ] || fail "retry 2: $r"
ok "uploads accepted (GPROFILER-API-KEY, Bearer), retries deduplicated"

# the expected merged tree, computed independently
expected_tree_py() { # files...
    python3 - "$@" <<'PY'
import json, sys
root = {}
total = 0
for f in sys.argv[1:]:
    for line in open(f).read().splitlines()[1:]:
        stack, cnt = line.rsplit(" ", 1)
        parts = stack.split(";")
        frames = parts[2:]  # comm + frames (app index and container skipped)
        node = root
        for fr in frames:
            node = node.setdefault(fr, {"v": 0, "c": {}})
            node["v"] += int(cnt)
            node = node["c"]
        total += int(cnt)
def conv(name, v, c):
    return {"name": name, "value": v, "children": [conv(k, c[k]["v"], c[k]["c"]) for k in sorted(c)]}
print(json.dumps(conv("root", total, root), sort_keys=True))
PY
}
expected_tree() { expected_tree_py "$@" | jq -cS .; }
strip_tree() {
    jq -cS 'def s: {name, value, children: [(.children // [])[] | s]}; s'
}
FG="$H/api/flamegraph?serviceName=svc&startTime=$T0&endTime=$T1"
want=$(expected_tree "$WORK/p1.col" "$WORK/p2.col")
got=""
for _ in $(seq 1 100); do
    got=$(curl -s "${UI[@]}" "$FG" | strip_tree 2>/dev/null || true)
    [ "$got" = "$want" ] && break
    sleep 0.1
done
[ "$got" = "$want" ] || fail "flamegraph differs from the merged counts:
 got  $got
 want $want"
ok "/api/flamegraph returns exactly the merged counts (no double counting of retries)"

# the stored profiles hold no token
blob_texts "$STATE" "$WORK/blobs.txt"
if grep -q SECRET-TOKEN "$WORK/blobs.txt"; then
    fail "a run_arguments token was stored"
fi
grep -q '"service_name":"svc"' "$WORK/blobs.txt" || fail "blob lacks the header"
ok "run_arguments tokens scrubbed before storing"

# --- filters and truncation -------------------------------------------------------------------
q() { # filter-json [extra query]
    curl -s "${UI[@]}" -G "$FG" --data-urlencode "filter=$1" ${2:+--data-urlencode "$2"}
}
q '{"filter":{"$and":[{"HostName":{"$eq":"h1"}}]}}' | strip_tree >"$WORK/f1"
[ "$(cat "$WORK/f1")" = "$(expected_tree "$WORK/p1.col")" ] || fail "HostName filter: $(cat "$WORK/f1")"
q '{"filter":{"$and":[{"HostName":{"$neq":"h1"}}]}}' | strip_tree >"$WORK/f2"
[ "$(cat "$WORK/f2")" = "$(expected_tree "$WORK/p2.col")" ] || fail "HostName \$neq: $(cat "$WORK/f2")"
q '{"filter":{"$and":[{"ContainerName":{"$eq":"web"}}]}}' | jcheck '.value==2 and .children[0].name=="java"' ||
    fail "ContainerName filter"
q '{"filter":{"$or":[{"ContainerName":{"$eq":"db"}},{"HostName":{"$eq":"h1"}}]}}' |
    jcheck '.value==17+6' || fail "\$or filter"
q '{"filter":{"$and":[{"ProcessName":{"$eq":"python"}},{"HostName":{"$eq":"h2"}}]}}' |
    jcheck '.value==15' || fail "ProcessName + HostName filter"
expect_status 204 "" "${UI[@]}" -G "$FG" --data-urlencode 'filter={"filter":{"HostName":{"$eq":"nope"}}}'
expect_status 400 "filter is not valid JSON" "${UI[@]}" -G "$FG" --data-urlencode 'filter={"filter":'
expect_status 400 "unknown field 'Bogus'" "${UI[@]}" -G "$FG" --data-urlencode 'filter={"filter":{"Bogus":{"$eq":"x"}}}'
expect_status 400 "unknown operator" "${UI[@]}" -G "$FG" --data-urlencode 'filter={"filter":{"HostName":{"$gt":"x"}}}'
ok "RQL filters (\$eq, \$neq, \$and, \$or on HostName/ContainerName/ProcessName) and their errors"

# heaviest stack: python;main;foo;bar = 16
curl -s "${UI[@]}" "$FG&stacksCount=1" | jcheck '.value==16 and .children[0].children[0].children[0].children[0].name=="bar"' ||
    fail "stacksCount=1 should keep only the heaviest stack"
curl -s "${UI[@]}" "$FG&stacksCount=2" | jcheck '.value==16+7' || fail "stacksCount=2"
expect_status 400 "stacksCount" "${UI[@]}" "$FG&stacksCount=abc"
ok "truncation keeps the heaviest stacks"

# --- exports, diff, metadata queries ----------------------------------------------------------
curl -s "${UI[@]}" "$FG&format=collapsed" >"$WORK/exp.col"
grep -qx 'python;main;foo;bar 16' "$WORK/exp.col" || fail "collapsed export: $(cat "$WORK/exp.col")"
[ "$(awk '{s+=$NF} END {print s}' "$WORK/exp.col")" = 38 ] || fail "collapsed export total"
curl -s "${UI[@]}" "$FG&format=html" -o "$WORK/exp.html"
grep -qi '<html' "$WORK/exp.html" || fail "html export"
curl -s "${UI[@]}" "$FG&format=pprof" -o "$WORK/exp.pb.gz"
[ "$(head -c 2 "$WORK/exp.pb.gz" | od -An -tx1 | tr -d ' ')" = 1f8b ] || fail "pprof export is not gzip"
expect_status 400 "format must be" "${UI[@]}" "$FG&format=svgz"
ok "exports: collapsed, html, pprof"

# the compact tree: gzip'd when asked, and it decodes to exactly the tree JSON
curl -s "${UI[@]}" "$FG" >"$WORK/tree.json"
curl -s "${UI[@]}" -H 'Accept-Encoding: gzip' -D "$WORK/compact.hdr" "$FG&format=compact" -o "$WORK/compact.json.gz"
grep -qi '^content-encoding: gzip' "$WORK/compact.hdr" || fail "format=compact is not gzip'd for Accept-Encoding: gzip"
zcat "$WORK/compact.json.gz" >"$WORK/compact.json"
cmp -s "$WORK/compact.json" <(curl -s "${UI[@]}" "$FG&format=compact") || fail "gzip'd and plain compact answers differ"
python3 - "$WORK/tree.json" "$WORK/compact.json" <<'PY' || fail "compact tree differs from the tree JSON"
import json, sys
tree, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
rows = []
def walk(n, d):
    rows.append((d, n["name"] if d else "root", n["value"]))
    for ch in n["children"]:
        walk(ch, d + 1)
walk(tree, 0)
got = [(c["depth"][i], c["names"][c["name"][i]], c["value"][i]) for i in range(c["nodes"])]
assert c["format"] == "gprof-flame-compact" and c["total"] == tree["value"], c["total"]
assert got == rows, (got[:5], rows[:5])
assert len(c["nameKind"]) == len(c["names"])
print("compact: %d nodes, total %d, same as the tree JSON" % (len(got), c["total"]))
PY
ok "format=compact: gzip on the wire, same tree as the JSON"

curl -s "${UI[@]}" "$H/api/flamegraph/diff?serviceName=svc&startTime=$T0&endTime=$T1&compareServiceName=other" |
    jcheck '.after==38 and .before==0' || fail "diff against another service"
T2=$(date -u -d '-5 hours' +%Y-%m-%dT%H:%M:%S)
curl -s "${UI[@]}" "$H/api/flamegraph/diff?serviceName=svc&startTime=$T0&endTime=$T1&compareStartTime=$T2&compareEndTime=$T0" |
    jcheck '.after==38 and .before==0' || fail "diff of two ranges"
expect_status 400 "compareStartTime" "${UI[@]}" "$H/api/flamegraph/diff?serviceName=svc&startTime=$T0&endTime=$T1"
ok "diff of two ranges and of two services"

curl -s "${UI[@]}" "$H/api/services" | jcheck 'any(.[]; .name=="svc" and .hasData)' || fail "services"
curl -s "${UI[@]}" "$H/api/flamegraph/datetime_with_data?serviceName=svc" | jcheck 'has("firstDateTime")' || fail "datetime_with_data"
curl -s "${UI[@]}" "$H/api/metrics/summary?serviceName=svc&startTime=$T0&endTime=$T1" |
    jcheck '.uniq_hostnames==2 and .avg_cpu==12.5 and .max_memory==40' ||
    fail "metrics summary: $(curl -s "${UI[@]}" "$H/api/metrics/summary?serviceName=svc&startTime=$T0&endTime=$T1")"
curl -s "${UI[@]}" "$H/api/metrics/graph?serviceName=svc&startTime=$T0&endTime=$T1" |
    jcheck '(map(.samples)|add)==38 and (.[0].hosts|length)==2' || fail "metrics graph"
curl -s "${UI[@]}" "$H/api/v1/filters/tags/HostName?serviceName=svc&startTime=$T0&endTime=$T1" |
    jcheck '[.[].name]|sort==["h1","h2"]' || fail "host list"
ok "services, datetime_with_data, metrics summary/graph, host list"

# --- settings ---------------------------------------------------------------------------------
curl -s "${UI[@]}" -X PUT "$H/api/settings" -d '{"retention_days":7,"sample_thresholds":{"svc":0.25}}' |
    jcheck '.retention_days==7 and .sample_thresholds.svc==0.25' || fail "settings"
expect_status 400 "retention_days" "${UI[@]}" -X PUT "$H/api/settings" -d '{"retention_days":"x"}'
expect_status 404 "unknown service" "${UI[@]}" -X PUT "$H/api/settings" -d '{"sample_thresholds":{"zzz":0.5}}'
expect_status 400 "must be a number in 0..1" "${UI[@]}" -X PUT "$H/api/settings" -d '{"sample_thresholds":{"svc":NaN}}'
curl -s "${UI[@]}" -X PUT "$H/api/settings" -d '{"sample_thresholds":{"svc":0}}' >/dev/null
ok "retention and downsampling settings"

# --- ad hoc flame graphs ----------------------------------------------------------------------
cat >"$WORK/p3.col" <<'P'
# {"metadata":{"hostname":"h3","run_arguments":{"service_name":"svc","continuous":false}},"flamegraph_html":"<html><body>adhoc flame graph</body></html>"}
0;;app;main;work 9
P
make_body "$WORK/b3.gz" "$NOW" h3 "$WORK/p3.col"
r=$(upload "$WORK/b3.gz" svc h3 "$TOK")
[ "${r%% *}" = 200 ] || fail "ad hoc upload: $r"
curl -s "${UI[@]}" "$H/api/metrics/adhoc_flamegraphs?serviceName=svc&startTime=$T0&endTime=$T1" >"$WORK/adhoc"
FN=$(jq -er '.[0].filename' "$WORK/adhoc") || fail "adhoc list: $(cat "$WORK/adhoc")"
curl -s "${UI[@]}" "$H/api/metrics/adhoc_flamegraph_content?serviceName=svc&filename=$FN" |
    jcheck '.content|contains("adhoc flame graph")' || fail "adhoc content"
expect_status 400 "invalid filename" "${UI[@]}" "$H/api/metrics/adhoc_flamegraph_content?serviceName=svc&filename=../../meta.db"
expect_status 400 "invalid filename" "${UI[@]}" "$H/api/metrics/adhoc_flamegraph_content?serviceName=svc&filename=..%2F..%2Fetc%2Fpasswd"
expect_status 400 "invalid filename" "${UI[@]}" "$H/api/metrics/adhoc_flamegraph_content?serviceName=svc&filename=/etc/passwd"
expect_status 404 "no ad hoc" "${UI[@]}" "$H/api/metrics/adhoc_flamegraph_content?serviceName=svc&filename=nope.html"
ok "ad hoc flame graphs listed and served; path traversal refused"

# --- garbage in, precise errors out -----------------------------------------------------------
post_gz() { # text -> gz file
    printf '%s' "$1" | gzip -c >"$WORK/g.gz"
}
AG=(-X POST "$H/api/v2/profiles?service=svc" -H "GPROFILER-API-KEY: $TOK" -H 'GPROFILER-SERVICE-NAME: svc' -H 'Content-Encoding: gzip')
post_gz '{"start_time": "2026-01-01T00:00:00", "profile": '
expect_status 400 "malformed JSON" "${AG[@]}" --data-binary @"$WORK/g.gz"
printf 'not gzip at all' >"$WORK/g.gz"
expect_status 400 "invalid gzip" "${AG[@]}" --data-binary @"$WORK/g.gz"
head -c 300 "$WORK/b1.gz" >"$WORK/g.gz"
expect_status 400 "truncated" "${AG[@]}" --data-binary @"$WORK/g.gz"
post_gz '{"start_time":"2026-01-01T00:00:00","hostname":"h","profile":"0;;a;b 1","gpid":""}'
expect_status 400 "header" "${AG[@]}" --data-binary @"$WORK/g.gz"
post_gz '{"start_time":"2026-01-01T00:00:00","hostname":"h","profile":"# {not json\n0;;a;b 1","gpid":""}'
expect_status 400 "Failed to parse v2 metadata" "${AG[@]}" --data-binary @"$WORK/g.gz"
post_gz '{"start_time":"2026-01-01T00:00:00","hostname":"h","profile":"# {\"metadata\":{}}\n0;;a;b 1\n0;;a;c x2","gpid":""}'
expect_status 400 "line 3" "${AG[@]}" --data-binary @"$WORK/g.gz"
post_gz '{"start_time":"yesterday","hostname":"h","profile":"# {\"metadata\":{}}\n0;;a;b 1","gpid":""}'
expect_status 400 "start_time" "${AG[@]}" --data-binary @"$WORK/g.gz"
post_gz '{"start_time":NaN,"hostname":"h","profile":"# {\"metadata\":{}}\n0;;a;b 1","gpid":""}' # json-c reads NaN
expect_status 400 "field 'start_time' is out of range" "${AG[@]}" --data-binary @"$WORK/g.gz"
post_gz '{"start_time":"2026-01-01T00:00:00","hostname":"h","profile":"# {\"metadata\":{}}\n0;;a;b 1"}'
expect_status 400 "gpid must be a part of a json body" "${AG[@]}" --data-binary @"$WORK/g.gz"
expect_status 400 "GPROFILER-SERVICE-NAME" -X POST "$H/api/v2/profiles" -H "GPROFILER-API-KEY: $TOK" --data-binary @"$WORK/b1.gz"
expect_status 411 "Content-Length" "${AG[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/b1.gz"
head -c $((5 * 1024 * 1024)) /dev/urandom >"$WORK/big"
expect_status 413 "exceeds the limit" "${AG[@]}" --data-binary @"$WORK/big"
head -c $((64 * 1024 * 1024)) /dev/zero | gzip -c >"$WORK/bomb.gz"
expect_status 413 "gzip bomb" "${AG[@]}" --data-binary @"$WORK/bomb.gz"
expect_status 404 "no such endpoint" "$H/api/nope"
expect_status 405 "not allowed" -X DELETE "$H/api/flamegraph"
expect_status 405 "not allowed" "$H/api/v2/profiles"
expect_status 406 "doesn't exist" "${UI[@]}" "$H/api/flamegraph?serviceName=ghost&startTime=$T0&endTime=$T1"
expect_status 400 "startTime" "${UI[@]}" "$H/api/flamegraph?serviceName=svc&startTime=soon&endTime=$T1"
expect_status 401 "authentication required" "$FG"
expect_status 401 "authentication required" -H "Authorization: Bearer $TOK" "$FG"
expect_status 200 "" -u wrong:creds "$H/api/v1/health_check"
expect_status 400 "Invalid API key" -H 'GPROFILER-API-KEY: bad' -H 'GPROFILER-SERVICE-NAME: svc' "$H/api/v1/health_check"
expect_status 200 '"ok"' -H "GPROFILER-API-KEY: $TOK" -H 'GPROFILER-SERVICE-NAME: svc' "$H/api/v2/health_check"
expect_status 401 "" -X POST "$H/api/metrics/heartbeat" -d '{"hostname":"h","service_name":"svc"}'
expect_status 400 "malformed JSON" -X POST "$H/api/metrics/heartbeat" -H "Authorization: Bearer $TOK" -d '{"hostname":'
kill -0 "$COORD_PID" || fail "coordinator died on garbage"
ok "400 malformed JSON/gzip/header/collapsed line (with line number), 401, 404, 405, 406, 411, 413, gzip bomb"

# the flame graph is unchanged by all the rejected uploads
curl -s "${UI[@]}" "$FG" | jcheck '.value==38+9' || fail "rejected uploads changed the data"

# a body in two concatenated gzip members (legal gzip) is stored as received and indexed
# (the indexer used to read only the first member and drop the profile)
printf '# {"metadata": {"hostname": "mm"}}\n0;;mmcomm;mmframe 5' >"$WORK/mm.col"
python3 - "$WORK/mm.col" "$WORK/mm.gz" "$NOW" <<'PY'
import gzip, json, sys
prof = open(sys.argv[1]).read()
body = json.dumps({"start_time": sys.argv[3], "hostname": "mm", "profile": prof, "gpid": ""}).encode()
cut = len(body) // 2
open(sys.argv[2], "wb").write(gzip.compress(body[:cut]) + gzip.compress(body[cut:]))
PY
r=$(upload "$WORK/mm.gz" svc mm "$TOK")
[ "${r%% *}" = 200 ] || fail "two-member gzip upload: $r"
for _ in $(seq 1 100); do
    curl -s "${UI[@]}" "$FG" | jcheck '.value==38+9+5' && break
    sleep 0.1
done
curl -s "${UI[@]}" "$FG" | jcheck '.value==38+9+5 and ([.children[] | select(.name=="mmcomm")
    | .children[] | select(.name=="mmframe") | .value] == [5])' ||
    fail "the two-member gzip upload was not indexed: $(curl -s "${UI[@]}" "$FG" | head -c 300)"
ok "a two-member gzip body is stored as received and indexed"

stop_coord
grep -q "stopped" "$WORK/coord.log" || fail "no clean shutdown message"
grep -q STOPPING=1 "$WORK/notify.log" || fail "no STOPPING=1 on NOTIFY_SOCKET"
kill "$NOTIFY_PID" 2>/dev/null || true
ok "SIGTERM: graceful stop, exit 0"
