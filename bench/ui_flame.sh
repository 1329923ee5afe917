#!/usr/bin/env bash
# ui_flame.sh — issue 17's flame graph benchmark, side by side in one run: a real gprof-coordinator
# on 127.0.0.1 receives 1,000,000 samples in 100,000 distinct stacks, uploaded as gProfiler agents
# do (gzip'd /api/v2/profiles envelopes, 10 hosts x 10,000 stacks); then bench/ui_flame.mjs drives
# headless /usr/bin/chromium (playwright-core from tests/browser) and times first paint, zoom and
# search of
#   (a) the UI viewer on /api/flamegraph?format=compact (stacksCount keeps every stack): its
#       progressive first paint (the tree pruned by minFraction=1/4000 first, the full tree in the
#       module Worker after), the whole tree at once (progressive=0), the full tree parsed on the
#       page, its first paint split into server and client time, with each page's requests as
#       the Performance API saw them; and the old tree JSON (format=flamegraph) for reference,
#   (a') the same compact answer served gzip'd from a static copy: the client side alone,
#   (b) the self-contained HTML export (format=html),
#   (c) d3-flame-graph 4 (tests/browser's package-lock, no CDN) on the same profile's tree JSON,
#   (d) the app's Profiles page (#/profiles, every stack): progressive as the viewer (a) when the
#       build has it; its first paint and full tree from the attributes the page sets.
# It also reports the payload sizes (raw and gzip'd), the coordinator's time to answer, and a
# cold pruned + full request pair (one merge for both since branch paint2).
# Needs: a build (${GPROF_BUILD_DIR:-build}), python3, curl, node, chromium, and
# `(cd tests/browser && npm ci)`. Knobs: STACKS (100000), SAMPLES (1000000), HOSTS (10),
# RUNS (3, the median is reported), D3_TIMEOUT (300 s for d3-flame-graph's first paint; 0 skips
# d3-flame-graph), CASES (a regex of the viewer rows to run), KEEP=1
# keeps the work dir.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${GPROF_BUILD_DIR:-build}
[[ $BUILD = /* ]] || BUILD="$SRC/$BUILD"
BIN="$BUILD/coordinator/gprof-coordinator"
STACKS=${STACKS:-100000} SAMPLES=${SAMPLES:-1000000} HOSTS=${HOSTS:-10} RUNS=${RUNS:-3}
[[ -x $BIN ]] || { echo "ui_flame.sh: $BIN not found; build first" >&2; exit 1; }
[[ -d $SRC/tests/browser/node_modules/d3-flame-graph ]] ||
    { echo "ui_flame.sh: run (cd tests/browser && npm ci) first" >&2; exit 1; }

TMP=$(mktemp -d /tmp/gprof-bench-flame.XXXXXX)
PID=
cleanup() {
    [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    [[ ${KEEP:-0} = 1 ]] && echo "work dir kept in $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()')
H=http://127.0.0.1:$PORT
"$BIN" --listen 127.0.0.1:$PORT --state-dir "$TMP/state" --indexer-poll-ms 50 >"$TMP/coord.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fs "$H/api/v1/health_check" >/dev/null 2>&1 && break; sleep 0.1; done

NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
# The profile: stacks share prefixes (a mixed-radix call tree 6 levels deep, then a tail of
# 2..13 frames drawn from 3,000 function names, some kernel, Python and JIT), counts 1..19 adding
# up to exactly SAMPLES (bench/flame_data.py, shared with bench/flame_query.sh).
python3 "$SRC/bench/flame_data.py" "$TMP" "$STACKS" "$SAMPLES" "$HOSTS" "$NOW" bench
for h in $(seq 0 $((HOSTS - 1))); do
    code=$(curl -s -o "$TMP/up.out" -w '%{http_code}' -X POST "$H/api/v2/profiles?service=bench" \
        -H 'GPROFILER-SERVICE-NAME: bench' -H "X-Gprof-Upload-Id: bench$h" -H 'Content-Encoding: gzip' \
        -H 'Content-type: application/json' --data-binary @"$TMP/up$h.gz")
    [[ $code = 2* ]] || { echo "upload $h: HTTP $code $(cat "$TMP/up.out")" >&2; exit 1; }
done
START=$(date -u -d "$NOW 10 minutes ago" +%Y-%m-%dT%H:%M:%S)
END=$(date -u -d "$NOW 10 minutes" +%Y-%m-%dT%H:%M:%S)
Q="serviceName=bench&startTime=$START&endTime=$END&stacksCount=$STACKS"
for _ in $(seq 1 600); do
    total=$(curl -s "$H/api/flamegraph?$Q&format=compact" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["total"])
except Exception: print(0)')
    [[ $total = "$SAMPLES" ]] && break
    sleep 0.5
done
[[ $total = "$SAMPLES" ]] || { echo "the coordinator holds $total samples, not $SAMPLES" >&2; exit 1; }

# A cold pruned request and the full one at once, as the viewer and the Profiles page send them
# (a stack cap no request used before: neither the answer cache nor a kept merge has them): the
# pair's wall time and the merges the coordinator ran for it (gprof_query_merges_total; "-" for
# a build without the counter).
merges() { curl -s "$H/metrics" | awk '$1 == "gprof_query_merges_total" { print $2 }'; }
QC="serviceName=bench&startTime=$START&endTime=$END&stacksCount=$((STACKS + 1))&format=compact"
m0=$(merges)
t0=$(date +%s%N)
curl -s -o /dev/null -H 'Accept-Encoding: gzip' "$H/api/flamegraph?$QC&minFraction=1/4000" &
c1=$!
curl -s -o /dev/null -H 'Accept-Encoding: gzip' "$H/api/flamegraph?$QC" &
c2=$!
wait "$c1" "$c2"
t1=$(date +%s%N)
m1=$(merges)
echo "cold pruned + full request at once: $(((t1 - t0) / 1000000)) ms, merges: $([[ -n $m0 ]] && echo $((m1 - m0)) || echo -)"

# Payloads and the coordinator's answer time (median of RUNS; curl time_total).
size() { stat -c %s "$1"; }
tcurl() { # NAME URL [curl args]: saves TMP/NAME, prints the median seconds
    local name=$1 url=$2
    shift 2
    for _ in $(seq 1 "$RUNS"); do
        curl -s -o "$TMP/$name" -w '%{time_total}\n' "$@" "$url"
    done | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}
t_compact_gz=$(tcurl compact.json.gz "$H/api/flamegraph?$Q&format=compact" -H 'Accept-Encoding: gzip')
t_compact=$(tcurl compact.json "$H/api/flamegraph?$Q&format=compact")
# the viewer's progressive first paint asks for the tree pruned to 1/4000 of the samples first
t_first_gz=$(tcurl first.json.gz "$H/api/flamegraph?$Q&format=compact&minFraction=1/4000" -H 'Accept-Encoding: gzip')
t_first=$(tcurl first.json "$H/api/flamegraph?$Q&format=compact&minFraction=1/4000")
t_tree=$(tcurl tree.json "$H/api/flamegraph?$Q&format=flamegraph")
t_html=$(tcurl export.html "$H/api/flamegraph?$Q&format=html")
gzip -6 -c "$TMP/tree.json" >"$TMP/tree.json.gz"
nodes=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"])' "$TMP/compact.json")
echo "profile: $SAMPLES samples, $STACKS stacks, $nodes nodes"
printf '%-34s %12s %12s %10s\n' payload bytes gzip "answer s"
printf '%-34s %12s %12s %10s\n' "compact (format=compact)" "$(size "$TMP/compact.json")" "$(size "$TMP/compact.json.gz")" "$t_compact_gz"
printf '%-34s %12s %12s %10s\n' "compact, minFraction=1/4000" "$(size "$TMP/first.json")" "$(size "$TMP/first.json.gz")" "$t_first_gz"
printf '%-34s %12s %12s %10s\n' "tree JSON (format=flamegraph)" "$(size "$TMP/tree.json")" "$(size "$TMP/tree.json.gz")" "$t_tree"
printf '%-34s %12s %12s %10s\n' "HTML export (format=html)" "$(size "$TMP/export.html")" "-" "$t_html"
printf '%-34s %12s %12s %10s\n' "folded text" "$(size "$TMP/profile.folded")" "$(gzip -6 -c "$TMP/profile.folded" | wc -c)" "-"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

cd "$SRC/tests/browser"
node "$SRC/bench/ui_flame.mjs" --coord "$H" --query "$Q" --html "$TMP/export.html" \
    --tree "$TMP/tree.json" --compact "$TMP/compact.json.gz" --runs "$RUNS" --nodes "$nodes" \
    --d3timeout "${D3_TIMEOUT:-300}" ${CASES:+--cases "$CASES"}
