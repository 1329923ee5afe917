# coordinator_lib.sh — helpers sourced by tests/integration/test_coordinator*.sh: start/stop a
# real gprof-coordinator on 127.0.0.1 with a temp state dir, build gProfiler-style uploads, assert.
BUILD=${GPROF_BUILD_DIR:?GPROF_BUILD_DIR must point at the build directory}
SRC=${GPROF_SOURCE_DIR:?GPROF_SOURCE_DIR must point at the source tree}
. "$(dirname "${BASH_SOURCE[0]}")/sanitizers.sh" # BIN: the build whose programs run (ASan or not)
COORD=$BIN/coordinator/gprof-coordinator
[ -x "$COORD" ] || { echo "FAIL: $COORD not built"; exit 1; }
WORK=$(mktemp -d /tmp/gprof-coord-test.XXXXXX)
COORD_PID=
FAILS=0

FLEET_TOKENS=() # "{unique}" tokens of the fleet stores this test used (fleet_drop_all)

cleanup() {
    local rc=$?
    if [ -n "$COORD_PID" ] && kill -0 "$COORD_PID" 2>/dev/null; then
        # sanitized: a clean exit, so LeakSanitizer checks the coordinator too (10 s at most)
        sanitized_stop "$COORD_PID" 10 || true
        kill -9 "$COORD_PID" 2>/dev/null || true
        wait "$COORD_PID" 2>/dev/null || true
    fi
    local san=0
    if ! sanitizer_check "$WORK"; then
        FAILS=$((FAILS + 1))
        san=1
    fi
    if [ "${KEEP_WORK:-0}" = 1 ] || [ "$FAILS" != 0 ] || [ "$rc" != 0 ] || [ "$san" != 0 ]; then
        echo "work dir kept: $WORK"
        [ ${#FLEET_TOKENS[@]} = 0 ] || echo "fleet stores kept: ${FLEET_TOKENS[*]}"
    else
        fleet_drop_all
        rm -rf "$WORK"
    fi
    # Exit only to turn a sanitizer report into a failure: otherwise the script's own exit status
    # stands (a trap that runs other commands before cleanup, e.g. `kill ... || true; cleanup`,
    # leaves $? at 0 here, and `exit "$rc"` turned every failure of such a test into a pass).
    if [ "$san" != 0 ]; then exit 1; fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
}

fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
    if [ -f "$WORK/coord.log" ]; then tail -20 "$WORK/coord.log" >&2; fi
    exit 1
}

ok() { echo "ok - $*"; }

# fleet_flags STATE_DIR: under GPROF_TEST_FLEET=1 (the "@fleet" variants of tests/CMakeLists.txt)
# prints the --meta/--blobs/--index flags that put the coordinator of STATE_DIR on the fleet stores
# the test servers serve (GPROF_TEST_SPEC_POSTGRES, _S3, _CLICKHOUSE from tests/servers/all.sh),
# "{unique}" derived from STATE_DIR so a restart finds its data and two state dirs do not share.
# Nothing otherwise. Without the specs the test skips (fails under GPROF_REQUIRE_SERVERS=1).
fleet_flags() {
    [ "${GPROF_TEST_FLEET:-0}" = 1 ] || return 0
    local tok v flag spec
    tok=$(fleet_token "$1")
    for v in meta:POSTGRES blobs:S3 index:CLICKHOUSE; do
        flag=${v%%:*}
        spec=$(printenv "GPROF_TEST_SPEC_${v#*:}" || true)
        if [ -z "$spec" ]; then
            if [ "${GPROF_REQUIRE_SERVERS:-0}" = 1 ]; then
                echo "FAIL: GPROF_TEST_FLEET=1 but GPROF_TEST_SPEC_${v#*:} is not set" >&2
                exit 1
            fi
            echo "SKIP: GPROF_TEST_SPEC_${v#*:} is not set (scripts/test.sh starts the servers)" >&2
            exit 77
        fi
        printf -- '--%s\n%s\n' "$flag" "${spec//\{unique\}/$tok}"
    done
}

# fleet_token STATE_DIR: the "{unique}" token of STATE_DIR's fleet stores (fleet_flags).
fleet_token() {
    printf 'f%s' "$(printf %s "$1" | md5sum | cut -c1-12)"
}

# fleet_remember STATE_DIR: notes STATE_DIR's fleet stores for fleet_drop_all (under
# GPROF_TEST_FLEET=1; nothing otherwise).
fleet_remember() {
    [ "${GPROF_TEST_FLEET:-0}" = 1 ] || return 0
    local tok t
    tok=$(fleet_token "$1")
    for t in "${FLEET_TOKENS[@]}"; do [ "$t" = "$tok" ] && return 0; done
    FLEET_TOKENS+=("$tok")
}

# fleet_drop_all: drops the PostgreSQL schema, S3 prefix and ClickHouse database of every state
# dir start_coord / coord_admin ran on (tests/servers/drop.sh; cleanup runs it when the test
# passed, a failed test keeps them to look at).
fleet_drop_all() {
    local tok
    for tok in "${FLEET_TOKENS[@]}"; do
        bash "$SRC/tests/servers/drop.sh" "${GPROF_TEST_SPEC_POSTGRES//\{unique\}/$tok}" \
            "${GPROF_TEST_SPEC_S3//\{unique\}/$tok}" "${GPROF_TEST_SPEC_CLICKHOUSE//\{unique\}/$tok}" || true
    done
    FLEET_TOKENS=()
}

# coord_admin ARGS... — runs `gprof-coordinator ARGS...` (token/user commands) on the stores of
# the --state-dir ARGS name: under GPROF_TEST_FLEET=1 the fleet stores start_coord uses for it.
coord_admin() {
    local a prev= state= fleet
    for a in "$@"; do
        [ "$prev" = --state-dir ] && state=$a
        prev=$a
    done
    fleet=$(fleet_flags "$state") || exit $?
    fleet_remember "$state"
    local -a ff=()
    [ -z "$fleet" ] || mapfile -t ff <<<"$fleet"
    "$COORD" "$@" "${ff[@]}"
}

# blob_texts STATE_DIR OUT: every stored profile blob of STATE_DIR's coordinator, gunzipped and
# concatenated into OUT: the files under STATE_DIR, or under GPROF_TEST_FLEET=1 the objects of its
# S3 prefix (listed and fetched with curl's SigV4 signing, path style as the test server serves).
blob_texts() {
    local state=$1 out=$2
    if [ "${GPROF_TEST_FLEET:-0}" != 1 ]; then
        find "$state" -name '*.gz' -exec zcat {} + >"$out"
        return
    fi
    local tok spec bucket prefix ep key
    tok=$(fleet_token "$state")
    spec=${GPROF_TEST_SPEC_S3//\{unique\}/$tok}
    spec=${spec#s3://}
    bucket=${spec%%/*}
    prefix=${spec#*/}
    prefix=${prefix%%\?*}
    ep=$(sed -n 's/.*[?&]endpoint=\([^&]*\).*/\1/p' <<<"$spec")
    # curl before 8.x does not add x-amz-content-sha256 itself (s3rver requires it): send it
    local -a sign=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
        -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
    : >"$out"
    curl -fsS "${sign[@]}" "$ep/$bucket?list-type=2&max-keys=1000&prefix=$prefix/" |
        grep -o '<Key>[^<]*</Key>' | sed 's/<[^>]*>//g' | grep '\.gz$' | while read -r key; do
        curl -fsS "${sign[@]}" "$ep/$bucket/$key" | zcat >>"$out"
    done
}

# s3_of STATE_DIR: sets S3_EP, S3_BUCKET, S3_PREFIX and S3_SIGN (curl's SigV4 arguments) for
# STATE_DIR's fleet S3 prefix (GPROF_TEST_FLEET=1).
s3_of() {
    local tok spec
    tok=$(fleet_token "$1")
    spec=${GPROF_TEST_SPEC_S3//\{unique\}/$tok}
    spec=${spec#s3://}
    S3_BUCKET=${spec%%/*}
    S3_PREFIX=${spec#*/}
    S3_PREFIX=${S3_PREFIX%%\?*}
    S3_EP=$(sed -n 's/.*[?&]endpoint=\([^&]*\).*/\1/p' <<<"$spec")
    # curl before 8.x does not add x-amz-content-sha256 itself (s3rver requires it): send it
    S3_SIGN=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
        -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
}

# blob_cat STATE_DIR KEY: prints the stored object KEY (e.g. perfspect/ps/h1/latest) of STATE_DIR's
# coordinator: the file STATE_DIR/profiles/KEY, or under GPROF_TEST_FLEET=1 the S3 object; fails
# when it does not exist.
blob_cat() {
    if [ "${GPROF_TEST_FLEET:-0}" != 1 ]; then
        cat "$1/profiles/$2"
        return
    fi
    s3_of "$1"
    curl -fsS "${S3_SIGN[@]}" "$S3_EP/$S3_BUCKET/$S3_PREFIX/$2"
}

# blob_put STATE_DIR KEY FILE: stores FILE as the object KEY of STATE_DIR's coordinator (blob_cat).
blob_put() {
    if [ "${GPROF_TEST_FLEET:-0}" != 1 ]; then
        mkdir -p "$(dirname "$1/profiles/$2")"
        cp "$3" "$1/profiles/$2"
        return
    fi
    s3_of "$1"
    curl -fsS -o /dev/null "${S3_SIGN[@]}" -X PUT --data-binary @"$3" "$S3_EP/$S3_BUCKET/$S3_PREFIX/$2"
}

# start_coord STATE_DIR [extra flags...]
start_coord() {
    local state=$1 fleet
    shift
    fleet=$(fleet_flags "$state") || exit $?
    fleet_remember "$state"
    local -a ff=()
    [ -z "$fleet" ] || mapfile -t ff <<<"$fleet"
    PORT=${PORT:-$(free_port)}
    H=http://127.0.0.1:$PORT
    "$COORD" --listen 127.0.0.1:$PORT --state-dir "$state" --indexer-poll-ms 50 "${ff[@]}" "$@" \
        >>"$WORK/coord.log" 2>&1 &
    COORD_PID=$!
    wait_coord_up
}

# wait_coord_up: waits until the coordinator COORD_PID answers health_check at $H
wait_coord_up() {
    for _ in $(seq 1 100); do
        if curl -fs "$H/api/v1/health_check" >/dev/null 2>&1; then return 0; fi
        kill -0 "$COORD_PID" 2>/dev/null || fail "coordinator exited at start: $(tail -3 "$WORK/coord.log")"
        sleep 0.05
    done
    fail "coordinator did not answer health_check"
}

stop_coord() {
    kill -TERM "$COORD_PID"
    local rc=0
    wait "$COORD_PID" || rc=$?
    COORD_PID=
    [ "$rc" = 0 ] || fail "coordinator exited with $rc after SIGTERM"
}

# s3_fault_proxy: tests/servers/s3/faultproxy.py in front of the test S3 server, stopped on exit;
# sets P (its URL) and PROXY_PID, and `fault NAME` posts a fault (e.g. 500, ok). Without a test S3
# server the test skips (77), or fails when GPROF_REQUIRE_SERVERS=1.
s3_fault_proxy() {
    if [ -z "${GPROF_TEST_S3_ENDPOINT:-}" ]; then
        [ "${GPROF_REQUIRE_SERVERS:-}" = 1 ] && fail "GPROF_TEST_S3_ENDPOINT is not set (tests/servers/server_s3.sh)"
        echo "SKIP: GPROF_TEST_S3_ENDPOINT is not set (tests/servers/server_s3.sh)"
        exit 77
    fi
    python3 "$SRC/tests/servers/s3/faultproxy.py" "$GPROF_TEST_S3_ENDPOINT" "$WORK/proxy.port" &
    PROXY_PID=$!
    trap 'kill $PROXY_PID 2>/dev/null || true; cleanup' EXIT
    for _ in $(seq 1 100); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
    [ -s "$WORK/proxy.port" ] || fail "faultproxy.py did not start within 10 s"
    P=http://127.0.0.1:$(cat "$WORK/proxy.port")
}
fault() { curl -fs -X POST "$P/__fault/$1" >/dev/null; }

# make_numbered_bodies DIR N NOW HOSTS [BULK]: DIR/0.gz .. DIR/(N-1).gz, gzip'd uploads of
# service svc at NOW from hosts h0..h(HOSTS-1) in turn; body i holds "main;u<i>" i+1 times,
# "main;common" once and BULK (default 0) more stacks of count 1 (for slower writes).
make_numbered_bodies() {
    mkdir -p "$1"
    python3 - "$@" <<'PY'
import gzip, json, sys
d, n, now, hosts = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
bulk = int(sys.argv[5]) if len(sys.argv) > 5 else 0
for i in range(n):
    host = "h%d" % (i % hosts)
    lines = ['# {"metadata":{"hostname":"%s","run_arguments":{"service_name":"svc"}}}' % host,
             "0;;app;main;u%d %d" % (i, i + 1), "0;;app;main;common 1"]
    lines += ["0;;app;main;f%d;g%d;h%d 1" % (k, k % 7, i % 5) for k in range(bulk)]
    body = {"start_time": now, "end_time": now, "hostname": host, "profile": "\n".join(lines),
            "cpu_avg": 1.0, "mem_avg": 2.0, "spawn_time": now, "gpid": ""}
    open("%s/%d.gz" % (d, i), "wb").write(gzip.compress(json.dumps(body).encode()))
PY
}

# send_numbered DIR I MAX_TIME [OUT]: uploads DIR/I.gz to $H as service svc with upload id u<I>;
# prints the HTTP code (000 when no answer); the answer body goes to OUT (default /dev/null).
send_numbered() {
    curl -s -o "${4:-/dev/null}" -w '%{http_code}' --max-time "$3" -X POST \
        "$H/api/v2/profiles?service=svc" -H 'GPROFILER-SERVICE-NAME: svc' \
        -H 'Content-Encoding: gzip' -H "X-Gprof-Upload-Id: u$2" --data-binary @"$1/$2.gz" || true
}

# numbered_counts_exact COL N [quiet]: whether the collapsed flame graph COL counts exactly the N
# bodies of make_numbered_bodies once each ("main;u<i>" i+1 times, "main;common" N times);
# names the wrong ones on stderr unless quiet.
numbered_counts_exact() {
    python3 - "$@" <<'PY'
import sys
col, n, quiet = sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3
counts = {}
for line in open(col):
    if " " in line:
        s, c = line.rstrip("\n").rsplit(" ", 1)
        counts[s] = counts.get(s, 0) + int(c)
bad = [i for i in range(n) if counts.get("app;main;u%d" % i) != i + 1]
if bad or counts.get("app;main;common") != n:
    if not quiet:
        print("wrong counts for uploads %s, common=%s" % (bad[:10], counts.get("app;main;common")),
              file=sys.stderr)
    sys.exit(1)
PY
}

# make_body OUT.gz START HOST PROFILE_FILE [extra python dict entries]
make_body() {
    python3 - "$@" <<'PY'
import json, sys, gzip
out, start, host, pfile = sys.argv[1:5]
prof = open(pfile).read().rstrip("\n")
body = {"start_time": start, "end_time": start, "hostname": host, "profile": prof,
        "cpu_avg": 12.5, "mem_avg": 40.0, "spawn_time": start, "gpid": ""}
with open(out, "wb") as f:
    f.write(gzip.compress(json.dumps(body).encode()))
PY
}

# upload BODY.gz SERVICE HOST TOKEN [extra curl args] -> prints "<http code> <body>"
upload() {
    local body=$1 svc=$2 host=$3 tok=$4
    shift 4
    curl -s -o "$WORK/up.out" -w '%{http_code}' -X POST \
        "$H/api/v2/profiles?key=$tok&service=$svc&hostname=$host&timestamp=2026-01-01T00:00:00&version=1.57.1" \
        -H "GPROFILER-API-KEY: $tok" -H "GPROFILER-SERVICE-NAME: $svc" \
        -H 'Content-Encoding: gzip' -H 'Content-type: application/json' \
        --data-binary @"$body" "$@"
    echo " $(cat "$WORK/up.out")"
}

# jcheck 'jq boolean expression' <<< json   (fails unless the expression is true)
jcheck() {
    jq -e "$1" >/dev/null
}
# field 'jq path' <<< json   (prints the raw value)
field() {
    jq -r "$1"
}

# expect_status CODE MESSAGE_SUBSTRING curl-args...
expect_status() {
    local want=$1 needle=$2
    shift 2
    local got
    got=$(curl -s -o "$WORK/resp" -w '%{http_code}' "$@") || true
    [ "$got" = "$want" ] || fail "expected $want, got $got for $*: $(head -c 300 "$WORK/resp")"
    if [ -n "$needle" ] && ! grep -q -- "$needle" "$WORK/resp"; then
        fail "response to $* lacks '$needle': $(head -c 300 "$WORK/resp")"
    fi
}
