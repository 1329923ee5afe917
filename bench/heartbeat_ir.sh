#!/usr/bin/env bash
# heartbeat_ir.sh — instructions per heartbeat, a figure a loaded machine does not move: runs
# gprof-coordinator under callgrind, sends HOSTS gProfiler heartbeats (bench/heartbeat.lua's
# body) to create every (host, service), zeroes the counters, sends N more over 4 keep-alive
# connections, waits for one write-behind flush and prints the user-space instructions (Ir) per
# heartbeat, with and without memset (callgrind counts each byte of a `rep stosb` as one
# instruction, so a 32 KiB zeroing weighs 32,768 where the CPU spends ~1,000 cycles).
# Usage: bench/heartbeat_ir.sh [BUILD_DIR]   (default build; the binary is never rebuilt)
# Knobs (env): N (4000), HOSTS (2000), EXTRA (more coordinator options, e.g. for old builds
# that lack max_connections_per_ip: EXTRA=" "), KEEP=1 keeps the callgrind file.
# Needs valgrind, curl, python3.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${GPROF_BUILD_DIR:-build}}
[[ $BUILD = /* ]] || BUILD="$SRC/$BUILD"
BIN="$BUILD/coordinator/gprof-coordinator"
N=${N:-4000} HOSTS=${HOSTS:-2000}
EXTRA=${EXTRA---set max_connections_per_ip=0}
[[ -x $BIN ]] || { echo "heartbeat_ir.sh: $BIN not found; build first" >&2; exit 1; }
for t in valgrind callgrind_control callgrind_annotate curl python3; do
    command -v $t >/dev/null || { echo "heartbeat_ir.sh: $t is not installed" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/gprof-hbir.XXXXXX)
PID=
cleanup() {
    [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
    [[ ${KEEP:-0} = 1 ]] && echo "kept $TMP" >&2 || rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$TMP/send.py" <<'PY'
import http.client, sys
port, n, start, hosts = (int(a) for a in sys.argv[1:5])
conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=600) for _ in range(4)]
for i in range(n):
    h = (start + i) % hosts
    body = ('{"ip_address": "10.%d.%d.%d", "hostname": "hb-host-%05d", "service_name": "bench", '
            '"last_command_id": null, "status": "active", "timestamp": "2026-11-22T18:00:00.000000", '
            '"received_command_ids": [], "executed_command_ids": []}'
            % ((h // 65536) % 256, (h // 256) % 256, h % 256, h))
    c = conns[i % 4]
    c.request("POST", "/api/metrics/heartbeat", body,
              {"Content-Type": "application/json", "Authorization": "Bearer bench"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("heartbeat answered %d" % r.status)
PY

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086
valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" "$BIN" --listen "127.0.0.1:$PORT" \
    --state-dir "$TMP/state" --set log_level=warn $EXTRA >"$TMP/coordinator.log" 2>&1 &
PID=$!
for _ in $(seq 600); do
    kill -0 "$PID" 2>/dev/null || { cat "$TMP/coordinator.log" >&2; exit 1; }
    curl -sf "http://127.0.0.1:$PORT/api/v1/health_check" >/dev/null 2>&1 && break
    sleep 0.5
done
python3 "$TMP/send.py" "$PORT" "$HOSTS" 0 "$HOSTS"
sleep 3
callgrind_control -z "$PID" >/dev/null
python3 "$TMP/send.py" "$PORT" "$N" "$HOSTS" "$HOSTS"
sleep 3 # one write-behind flush (flush_ms = 2000) of the heartbeats just sent
callgrind_control -d "$PID" >/dev/null
total=$(callgrind_annotate "$TMP/cg.out.1" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
memset=$(callgrind_annotate --inclusive=no --threshold=100 "$TMP/cg.out.1" |
    awk '/memset/ { gsub(",", "", $1); s += $1 } END { print s + 0 }')
awk -v t="$total" -v m="$memset" -v n="$N" 'BEGIN {
    printf "RESULT heartbeats=%d Ir_per_heartbeat=%.0f without_memset=%.0f\n", n, t / n, (t - m) / n }'
