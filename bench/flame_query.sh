#!/usr/bin/env bash
# flame_query.sh — the coordinator's side of a flame graph (issues 17 and 14), two builds side by
# side in one run: BASE (e.g. main) and NEW each run a gprof-coordinator on 127.0.0.1 with the same
# data, and the same /api/flamegraph requests go to both, alternating, so load drifts hit both.
#   big:   issue 17's profile, 1,000,000 samples in 100,000 stacks (bench/flame_data.py, 10 hosts),
#          stacksCount=100000: format=compact (gzip), tree JSON (gzip), HTML export;
#   fleet: an hour of 2,000 stacks x 40 frames (bench/upload_load.c --fill, HOSTS x 60 uploads),
#          the default tree JSON without gzip (the 4.2 MB answer of bench/coordinator.sh).
# "cold" requests move endTime by one minute each round (a new query: no answer cache can help);
# "repeat" requests are one query sent again and again (what a cache serves). For each it prints
# the median wall time (curl time_total) and the coordinator's CPU per request (utime + stime),
# and checks that both builds' answers are byte-identical (after gunzip).
# usage: GPROF_BUILD_DIR=build BASE_BUILD_DIR=/tmp/query-main/build bash bench/flame_query.sh
# knobs: RUNS (5), STACKS (100000), SAMPLES (1000000), HOSTS (4, fleet set), KEEP=1.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
abs() { [[ $1 = /* ]] && echo "$1" || echo "$SRC/$1"; }
NEW=$(abs "${GPROF_BUILD_DIR:-build}")/coordinator/gprof-coordinator
BASE=$(abs "${BASE_BUILD_DIR:?set BASE_BUILD_DIR to the build to compare with}")/coordinator/gprof-coordinator
RUNS=${RUNS:-5} STACKS=${STACKS:-100000} SAMPLES=${SAMPLES:-1000000} HOSTS=${HOSTS:-4}
for b in "$NEW" "$BASE"; do [[ -x $b ]] || { echo "flame_query.sh: $b not found; build first" >&2; exit 1; }; done

TMP=$(mktemp -d /tmp/gprof-bench-fq.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    [[ ${KEEP:-0} = 1 ]] && echo "work dir kept in $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT

cc -O2 -Wall -o "$TMP/upload_load" "$SRC/bench/upload_load.c" "$SRC/bench/loadgen.c" -lcurl -lz -lpthread
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
declare -A URL PID
for side in base new; do
    bin=$BASE
    [[ $side = new ]] && bin=$NEW
    p=$(port)
    URL[$side]=http://127.0.0.1:$p
    "$bin" --listen 127.0.0.1:$p --state-dir "$TMP/state-$side" --indexer-poll-ms 50 \
        --set log_level=warn --set max_connections_per_ip=0 >"$TMP/coord-$side.log" 2>&1 &
    PID[$side]=$!
    PIDS+=($!)
done
for side in base new; do
    for _ in $(seq 1 100); do curl -fs "${URL[$side]}/api/v1/health_check" >/dev/null 2>&1 && break; sleep 0.1; done
    curl -fs "${URL[$side]}/api/v1/health_check" >/dev/null || { cat "$TMP/coord-$side.log" >&2; exit 1; }
done

NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
python3 "$SRC/bench/flame_data.py" "$TMP" "$STACKS" "$SAMPLES" 10 "$NOW" bench
H0=$((($(date +%s) / 3600 - 3) * 3600))
for side in base new; do
    for h in $(seq 0 9); do
        code=$(curl -s -o "$TMP/up.out" -w '%{http_code}' -X POST "${URL[$side]}/api/v2/profiles?service=bench" \
            -H 'GPROFILER-SERVICE-NAME: bench' -H "X-Gprof-Upload-Id: bench$h" -H 'Content-Encoding: gzip' \
            -H 'Content-type: application/json' --data-binary @"$TMP/up$h.gz")
        [[ $code = 2* ]] || { echo "upload $h: HTTP $code $(cat "$TMP/up.out")" >&2; exit 1; }
    done
    "$TMP/upload_load" --url "${URL[$side]}" --service fleet --conns 4 --fill "$H0" --hosts "$HOSTS" \
        --minutes 60 --id-prefix "fill$side" | grep -q '^RESULT' || { echo "fleet fill failed" >&2; exit 1; }
done
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S; }
BSTART=$(date -u -d "$NOW 10 minutes ago" +%Y-%m-%dT%H:%M:%S)
bend() { date -u -d "$NOW $((10 + $1)) minutes" +%Y-%m-%dT%H:%M:%S; }
QB="serviceName=bench&startTime=$BSTART&stacksCount=$STACKS"
QF="serviceName=fleet&startTime=$(iso "$H0")"
fend() { iso $((H0 + 3600 + $1 * 60)); }
want_fleet=$((HOSTS * 60))
for side in base new; do # wait for the indexers: every sample of both sets
    for _ in $(seq 1 1200); do
        tb=$(curl -s "${URL[$side]}/api/flamegraph?$QB&endTime=$(bend 0)&format=compact" |
            python3 -c 'import json,sys
try: print(json.load(sys.stdin)["total"])
except Exception: print(0)')
        np=$(sqlite3 -cmd ".timeout 10000" "$TMP/state-$side/meta.db" "SELECT count(*) FROM index_outbox" 2>/dev/null || echo 1)
        [[ $tb = "$SAMPLES" && $np = 0 ]] && break
        sleep 0.5
    done
    [[ $tb = "$SAMPLES" && $np = 0 ]] || { echo "$side: $tb samples, $np profiles not indexed" >&2; exit 1; }
done

TCK=$(getconf CLK_TCK)
cpu() { awk -v t="$TCK" '{ printf "%.3f\n", ($14 + $15) / t }' "/proc/$1/stat"; }
# one request: side name query-string curl-args... -> appends "seconds cpu_seconds" to TMP/side.name
req() {
    local side=$1 name=$2 q=$3
    shift 3
    local a b t
    a=$(cpu "${PID[$side]}")
    t=$(curl -s -o "$TMP/$side.$name.body" -w '%{time_total}' "$@" "${URL[$side]}/api/flamegraph?$q")
    b=$(cpu "${PID[$side]}")
    echo "$t $(awk -v a="$a" -v b="$b" 'BEGIN { print b - a }')" >>"$TMP/$side.$name"
}
GZ=(-H 'Accept-Encoding: gzip')
CASES=(compact_gz tree_gz html fleet_tree)
case_q() { # name round -> query string
    case $1 in
    compact_gz) echo "$QB&endTime=$(bend "$2")&format=compact" ;;
    tree_gz) echo "$QB&endTime=$(bend "$2")&format=flamegraph" ;;
    html) echo "$QB&endTime=$(bend "$2")&format=html" ;;
    fleet_tree) echo "$QF&endTime=$(fend "$2")" ;;
    esac
}
case_args() { case $1 in *_gz) echo "gz" ;; *) echo "" ;; esac; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
for r in $(seq 1 "$RUNS"); do
    for c in "${CASES[@]}"; do
        for side in base new; do
            # cold: a query no earlier request asked (endTime one minute later each round)
            if [[ $(case_args "$c") = gz ]]; then req $side "$c.cold" "$(case_q "$c" "$r")" "${GZ[@]}"
            else req $side "$c.cold" "$(case_q "$c" "$r")"; fi
            # repeat: the round-0 query again
            if [[ $(case_args "$c") = gz ]]; then req $side "$c.repeat" "$(case_q "$c" 0)" "${GZ[@]}"
            else req $side "$c.repeat" "$(case_q "$c" 0)"; fi
        done
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

same() { # case -> yes/NO (bodies of the last cold request, gunzip'd when gzip'd)
    local a b
    a=$(gzip -dcf "$TMP/base.$1.cold.body" | md5sum)
    b=$(gzip -dcf "$TMP/new.$1.cold.body" | md5sum)
    [[ $a = "$b" ]] && echo yes || echo NO
}
med() { sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { printf "%.3f", v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2fx", b / a; else print "-" }'; }
echo
echo "| request | bytes (new) | identical | base s | new s | new/base | base CPU s | new CPU s | new/base |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
for c in "${CASES[@]}"; do
    for kind in cold repeat; do
        f=$c.$kind
        bt=$(med "$TMP/base.$f" 1) nt=$(med "$TMP/new.$f" 1)
        bc=$(med "$TMP/base.$f" 2) nc=$(med "$TMP/new.$f" 2)
        echo "| $c $kind | $(stat -c %s "$TMP/new.$f.body") | $(same "$c") | $bt | $nt | $(ratio "$bt" "$nt") | $bc | $nc | $(ratio "$bc" "$nc") |"
    done
done
echo
echo "(medians of $RUNS; $STACKS stacks / $SAMPLES samples; fleet: $HOSTS hosts x 60 min x 2,000 stacks x 40 frames)"
