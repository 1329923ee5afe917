#!/usr/bin/env bash
# fleet_storage.sh — issue 14's benchmark: the same data on the embedded stores (one coordinator
# on SQLite + a directory + the SQLite index) and on the fleet stores (two coordinators on one
# PostgreSQL + S3 + ClickHouse), side by side in one run:
#   ingest rate (uploads/s over HTTP, split over both coordinators on the fleet stores) and how
#   fast the indexers drain the outbox; /api/flamegraph p50/p99 over 1 hour (hour rollup) and
#   over 1 day (day rollup); bytes stored per sample row in the index.
# Data: HOSTS hosts x one profile every STEP seconds over one whole day (a day compressed to
# 86400/STEP profiles per host; STEP=60 is the issue's one a minute), 2,000 unique stacks x 40
# frames per profile (bench/upload_load.c --fill, gzip'd agent envelopes with distinct upload ids).
# Servers: uses the GPROF_TEST_SPEC_POSTGRES / _S3 / _CLICKHOUSE of an environment made by
# `tests/servers/all.sh start DIR` (source DIR/*.env), else starts a private set in the temp dir.
# Usage: GPROF_BUILD_DIR=build bench/fleet_storage.sh [HOSTS=10] [STEP=600]
# Knobs (env): CONNS (8 upload connections), FG_QUERIES (10), KEEP=1 keeps the temp dir,
# ONLY=embedded|fleet runs one side, FLEET_BINS="LABEL=PATH ..." runs the fleet side once per
# coordinator binary (before/after ratios in one run), COORD_ARGS adds coordinator arguments
# (e.g. "--set log_level=debug" for the per-upload timings in the kept logs), SRV_DIR=DIR (the
# servers' directory when they were started outside) adds where the fill's CPU went (the
# coordinators, PostgreSQL with its backends, ClickHouse, s3rver, the load generator, per upload)
# and, when the server loads pg_stat_statements, the statements the fill ran per upload.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${GPROF_BUILD_DIR:-build}
[[ $BUILD = /* ]] || BUILD="$SRC/$BUILD"
BIN="$BUILD/coordinator/gprof-coordinator"
HOSTS=${1:-10}
STEP=${2:-600}
CONNS=${CONNS:-8}
FG_QUERIES=${FG_QUERIES:-10}
PER_HOST=$((86400 / STEP))
N=$((HOSTS * PER_HOST))
[[ -x $BIN ]] || { echo "fleet_storage.sh: $BIN not found; build first" >&2; exit 1; }
for t in curl sqlite3 cc python3; do
    command -v $t >/dev/null || { echo "fleet_storage.sh: $t is not installed" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/gprof-fleetbench.XXXXXX)
PIDS=()
OWN_SERVERS=
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    [[ -n $OWN_SERVERS ]] && bash "$SRC/tests/servers/all.sh" stop "$TMP/srv" >/dev/null 2>&1 || true
    [[ ${KEEP:-0} = 1 ]] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT

if [[ ${ONLY:-} != embedded && -z ${GPROF_TEST_SPEC_POSTGRES:-} ]]; then
    echo "starting private PostgreSQL, ClickHouse and s3rver in $TMP/srv" >&2
    OWN_SERVERS=1
    bash "$SRC/tests/servers/all.sh" start "$TMP/srv" >&2
    for f in "$TMP"/srv/*.env; do . "$f"; done
fi

cc -O2 -Wall -o "$TMP/upload_load" "$SRC/bench/upload_load.c" "$SRC/bench/loadgen.c" -lcurl -lz -lpthread

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TCK=$(getconf CLK_TCK)
cpu_of() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo "$t"; }
# CPU ticks of a process and its children (a PostgreSQL postmaster and its backends), 0 if gone
cpu_tree() {
    local t=0 p
    for p in $1 $(ps -o pid= --ppid "$1" 2>/dev/null); do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
[[ -n $OWN_SERVERS ]] && SRV_DIR=$TMP/srv
SRV_NAMES=(postgres clickhouse s3)
srv_cpu() { # "pg ch s3" ticks
    local out=() n
    for n in "${SRV_NAMES[@]}"; do
        if [[ -n ${SRV_DIR:-} && -s $SRV_DIR/$n.pid ]]; then out+=("$(cpu_tree "$(cat "$SRV_DIR/$n.pid")")"); else out+=(0); fi
    done
    echo "${out[@]}"
}
pg_sql() {
    "${GPROF_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}/psql" -qtA -F ' | ' -h 127.0.0.1 \
        -p "$GPROF_TEST_PG_PORT" -U gprof gprof -c "$1" 2>/dev/null
}

# start_coord NAME EXTRA-ARGS... -> prints "pid url"
start_coord() {
    local name=$1 port
    shift
    port=$(free_port)
    # shellcheck disable=SC2086 # COORD_ARGS: words
    "$BIN" --listen "127.0.0.1:$port" --state-dir "$TMP/$name" --set log_level=warn \
        --set max_connections_per_ip=0 "$@" ${COORD_ARGS:-} >"$TMP/$name.log" 2>&1 &
    local pid=$!
    for _ in $(seq 200); do
        curl -sf "http://127.0.0.1:$port/api/v1/health_check" >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || { cat "$TMP/$name.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "$pid http://127.0.0.1:$port"
}

T0=$(( ($(date +%s) / 86400 - 1) * 86400 )) # yesterday, 00:00 UTC: a whole day in the past
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S; }
fg_query() { # URL START END -> "p50 p99 stacks"
    local q="$1/api/flamegraph?serviceName=bench&startTime=$(iso "$2")&endTime=$(iso "$3")"
    curl -sf -o "$TMP/fg.json" "$q" # warm-up, and the answer's size
    local bytes; bytes=$(stat -c %s "$TMP/fg.json")
    for _ in $(seq "$FG_QUERIES"); do curl -sf -o /dev/null -w '%{time_total}\n' "$q"; done >"$TMP/fg.times"
    sort -n "$TMP/fg.times" | awk -v bytes="$bytes" '{ v[NR] = $1 * 1000 }
        END { printf "%.0f %.0f %d\n", v[int((NR + 1) / 2)], v[int((NR - 1) * 0.99) + 1], bytes }'
}

# run_side NAME TAG PENDING-FN BYTES-FN URL...: fill, drain, query; adds one table row
run_side() {
    local name=$1 tag=$2 pending=$3 bytesfn=$4
    shift 4
    local -a urlargs=()
    for u in "$@"; do urlargs+=(--url "$u"); done
    local c0 c1 c2 t0 fill idx_s
    c0=$(cpu_of "${SIDE_PIDS[@]}")
    local -a s0 s1
    read -ra s0 <<<"$(srv_cpu)"
    [[ -n ${SRV_DIR:-} && $name = fleet* ]] && pg_sql "SELECT pg_stat_statements_reset()" >/dev/null 2>&1 || true
    t0=$(date +%s%N)
    fill=$( (
        "$TMP/upload_load" "${urlargs[@]}" --service bench --conns "$CONNS" --fill "$T0" \
            --step "$STEP" --minutes "$PER_HOST" --hosts "$HOSTS" --id-prefix "$tag$$"
        times >"$TMP/times" # not in a pipe: a pipe's subshell has no children
        tail -1 "$TMP/times" | awk '{ gsub(/[ms]/, " "); print "LOADGEN_CPU " ($1 * 60 + $2 + $3 * 60 + $4) }'
    ) | grep '^RESULT\|^LOADGEN')
    c1=$(cpu_of "${SIDE_PIDS[@]}")
    read -ra s1 <<<"$(srv_cpu)"
    local lg
    lg=$(sed -n 's/^LOADGEN_CPU //p' <<<"$fill")
    fill=$(grep '^RESULT' <<<"$fill")
    while [[ $($pending) != 0 ]]; do sleep 0.5; done
    idx_s=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    c2=$(cpu_of "${SIDE_PIDS[@]}")
    echo "$name fill: $fill; all indexed after $idx_s s" >&2
    if [[ -n ${SRV_DIR:-} ]]; then
        local nok
        nok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$fill")
        awk -v n="$nok" -v t="$TCK" -v c="$((c1 - c0))" -v pg="$((s1[0] - s0[0]))" \
            -v ch="$((s1[1] - s0[1]))" -v s3="$((s1[2] - s0[2]))" -v lg="$lg" -v nm="$name" 'BEGIN {
            printf "%s fill CPU per upload: coordinators %.2f ms, postgres %.2f, clickhouse %.2f, s3rver %.2f, load generator %.2f; total %.2f ms\n",
                nm, c / t / n * 1e3, pg / t / n * 1e3, ch / t / n * 1e3, s3 / t / n * 1e3, lg / n * 1e3,
                (c + pg + ch + s3) / t / n * 1e3 + lg / n * 1e3 }' >&2
        if [[ $name = fleet* ]]; then
            echo "$name PostgreSQL statements during the fill (calls per upload | mean ms | statement):" >&2
            pg_sql "SELECT round(calls::numeric / $nok, 2), round(mean_exec_time::numeric, 3), left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'gprof') ORDER BY calls DESC LIMIT 25" >&2 || true
        fi
    fi
    local ok rate errors
    ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$fill")
    rate=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$fill")
    errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$fill")
    local p99
    p99=$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$fill")
    local H1=$((T0 + 10 * 3600))
    local fg1 fgd
    fg1=$(fg_query "$1" "$H1" $((H1 + 3600)))
    fgd=$(fg_query "$1" "$T0" $((T0 + 86400)))
    echo "$name flamegraph 1 h: $fg1; 1 day: $fgd (p50 p99 bytes)" >&2
    local bps
    bps=$($bytesfn "$ok")
    local ingest_cpu index_cpu
    ingest_cpu=$(awk -v a="$c0" -v b="$c1" -v n="$ok" -v t="$TCK" 'BEGIN { printf "%.1f", (b - a) / t / n * 1000 }')
    index_cpu=$(awk -v a="$c1" -v b="$c2" -v n="$ok" -v t="$TCK" 'BEGIN { printf "%.1f", (b - a) / t / n * 1000 }')
    ROWS+=("| $name | $ok ($errors errors) | **$rate** (p99 $p99 ms) | $(awk -v n="$ok" -v s="$idx_s" 'BEGIN { printf "%.0f", n / s }') ($idx_s s) | $ingest_cpu + $index_cpu ms | $(cut -d' ' -f1-2 <<<"$fg1" | tr ' ' /) ms | **$(cut -d' ' -f1-2 <<<"$fgd" | tr ' ' /) ms** | $bps |")
}

ROWS=()
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- embedded: SQLite metadata + directory blobs + SQLite index, one coordinator --------------
if [[ ${ONLY:-} != fleet ]]; then
    read -r EP EURL < <(start_coord emb)
    PIDS+=("$EP")
    SIDE_PIDS=("$EP")
    emb_pending() { sqlite3 -cmd ".timeout 10000" "$TMP/emb/meta.db" "SELECT count(*) FROM index_outbox" 2>/dev/null || echo 1; }
    emb_bytes() { # index.db (+ WAL) over the sample rows
        local b; b=$(du -cb "$TMP/emb"/index.db* | tail -1 | cut -f1)
        awk -v b="$b" -v n="$1" 'BEGIN { printf "%.2f (SQLite file)", b / (n * 2000) }'
    }
    run_side embedded emb emb_pending emb_bytes "$EURL"
    kill "$EP" && wait "$EP" 2>/dev/null || true
fi

# ---- fleet: two coordinators on PostgreSQL + S3 + ClickHouse ----------------------------------
# FLEET_BINS="LABEL=PATH ..." runs this side once per coordinator binary (each on its own schema,
# prefix and database), e.g. the main branch's and this one's, for a ratio in one run.
if [[ ${ONLY:-} != embedded ]]; then
  for lb in ${FLEET_BINS:-this=$BIN}; do
    FLABEL=${lb%%=*}
    BIN=${lb#*=}
    [[ $BIN = /* ]] || BIN="$SRC/$BIN"
    [[ -x $BIN ]] || { echo "fleet_storage.sh: $BIN not found" >&2; exit 1; }
    U=fb$$$FLABEL
    META=${GPROF_TEST_SPEC_POSTGRES//\{unique\}/$U}
    BLOBS=${GPROF_TEST_SPEC_S3//\{unique\}/$U}
    INDEX=${GPROF_TEST_SPEC_CLICKHOUSE//\{unique\}/$U}
    read -r FA AURL < <(start_coord "fleetA$FLABEL" --meta "$META" --blobs "$BLOBS" --index "$INDEX")
    PIDS+=("$FA")
    read -r FB BURL < <(start_coord "fleetB$FLABEL" --meta "$META" --blobs "$BLOBS" --index "$INDEX")
    PIDS+=("$FB")
    SIDE_PIDS=("$FA" "$FB")
    PSQL=${GPROF_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}/psql
    PG_SCHEMA=$(sed -n 's/.*[?&]schema=\([a-z0-9_]*\).*/\1/p' <<<"$META")
    CH_DB=${INDEX##*/}
    CH_DB=${CH_DB%%\?*}
    fleet_pending() {
        "$PSQL" -qtA -h 127.0.0.1 -p "$GPROF_TEST_PG_PORT" -U gprof gprof \
            -c "SELECT count(*) FROM ${PG_SCHEMA:-public}.index_outbox" 2>/dev/null || echo 1
    }
    fleet_bytes() { # ClickHouse parts on disk over the sample rows: raw table; every table
        curl -sS "http://127.0.0.1:$GPROF_TEST_CH_HTTP_PORT/" --data-binary \
            "SELECT concat(toString(round(sumIf(bytes_on_disk, table = 'samples') / ($1 * 2000), 2)), ' raw, ', toString(round(sum(bytes_on_disk) / ($1 * 2000), 2)), ' all tables') FROM system.parts WHERE database = '$CH_DB' AND active"
    }
    NAME="fleet (2 coordinators)"
    [[ -z ${FLEET_BINS:-} ]] || NAME="fleet (2 coordinators, $FLABEL)"
    run_side "$NAME" "f$FLABEL" fleet_pending fleet_bytes "$AURL" "$BURL"
    kill "$FA" "$FB" && wait "$FA" "$FB" 2>/dev/null || true
  done
fi

cat <<EOF

Fleet storage benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average at the start: $LOAD0, at the end: $(cut -d' ' -f1-3 /proc/loadavg)
Data: $HOSTS hosts x $PER_HOST profiles each (one every $STEP s over one day) = $N uploads x 2,000 stacks x 40 frames; $CONNS upload connections

| stores | uploads | ingest/s (upload p99) | indexed/s (first upload → outbox empty) | coordinator CPU per upload, ingest + index | flame graph 1 h p50/p99 | flame graph 1 day p50/p99 | index bytes per sample row |
|---|---|---|---|---|---|---|---|
EOF
printf '%s\n' "${ROWS[@]}"
