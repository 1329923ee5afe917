#!/bin/bash
# bench/clickhouse_fg_probe.sh — where a 1-day flame graph's time goes on the fleet stores a
# bench/fleet_storage.sh run left behind (its "{unique}" token U, e.g. fb12345): /api/flamegraph
# as JSON and as collapsed text through one coordinator, the two ClickHouse statements alone (day
# rollup aggregation, frames fetch with the hashes as an external table), then `perf record -g`
# on the coordinator over 20 JSON queries (top symbols).
# Usage: GPROF_BUILD_DIR=build bench/clickhouse_fg_probe.sh U SERVERS_DIR   (the servers' *.env)
set -euo pipefail
U=${1:?usage: clickhouse_fg_probe.sh U SERVERS_DIR}
SRV=${2:?usage: clickhouse_fg_probe.sh U SERVERS_DIR}
BUILD=${GPROF_BUILD_DIR:-build}
for f in "$SRV"/*.env; do . "$f"; done
META=${GPROF_TEST_SPEC_POSTGRES//\{unique\}/$U}; BLOBS=${GPROF_TEST_SPEC_S3//\{unique\}/$U}; INDEX=${GPROF_TEST_SPEC_CLICKHOUSE//\{unique\}/$U}
DB=${INDEX##*/}; DB=${DB%%\?*}
CH="http://127.0.0.1:$GPROF_TEST_CH_HTTP_PORT/"
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
OUT=$(mktemp -d /tmp/gprof-fgprobe.XXXXXX)
"$BUILD/coordinator/gprof-coordinator" --listen 127.0.0.1:$PORT --state-dir $OUT/st --set log_level=warn --meta "$META" --blobs "$BLOBS" --index "$INDEX" > $OUT/coord.log 2>&1 &
CP=$!
trap 'kill $CP 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/api/v1/health_check >/dev/null && break; sleep 0.1; done
T0=$(( ($(date +%s) / 86400 - 1) * 86400 ))
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S; }
Q="http://127.0.0.1:$PORT/api/flamegraph?serviceName=bench&startTime=$(iso $T0)&endTime=$(iso $((T0+86400)))"
med() { sort -n | awk '{v[NR]=$1*1000} END {printf "median %.0f ms, min %.0f ms\n", v[int((NR+1)/2)], v[1]}'; }
curl -sf -o $OUT/fg.json "$Q"; curl -sf -o $OUT/fg.col "$Q&format=collapsed"
echo "json bytes $(stat -c %s $OUT/fg.json), collapsed bytes $(stat -c %s $OUT/fg.col)"
echo -n "flamegraph JSON 1 day: "; for i in $(seq 10); do curl -sf -o /dev/null -w '%{time_total}\n' "$Q"; done | med
echo -n "collapsed 1 day: "; for i in $(seq 10); do curl -sf -o /dev/null -w '%{time_total}\n' "$Q&format=collapsed"; done | med
AGG="SELECT stack, toUInt64(sum(n)) AS t FROM (SELECT stack, toUInt64(sum(count)) AS n FROM $DB.samples_day WHERE service = 'bench' AND ts >= $T0 AND ts < $((T0+86400)) GROUP BY stack) GROUP BY stack FORMAT RowBinary"
curl -sf "$CH" --data-binary "$AGG" > $OUT/agg.bin
python3 -c "
import sys
b=open('$OUT/agg.bin','rb').read()
open('$OUT/ids.bin','wb').write(b''.join(b[i:i+8] for i in range(0,len(b),16)))
print('stacks', len(b)//16)"
echo -n "CH aggregation (day rollup): "; for i in $(seq 10); do curl -sf -o /dev/null -w '%{time_total}\n' "$CH" --data-binary "$AGG"; done | med
FQ="SELECT hash, container, comm, frames FROM $DB.stacks WHERE hash IN _gprof_ids AND day >= $((T0/86400)) FORMAT RowBinary"
echo -n "CH frames fetch (external table): "; for i in $(seq 10); do curl -sf -o $OUT/fr.bin -w '%{time_total}\n' -F "_gprof_ids=@$OUT/ids.bin" "$CH?_gprof_ids_structure=hash%20UInt64&_gprof_ids_format=RowBinary&query=$(python3 -c "import urllib.parse,sys;print(urllib.parse.quote(sys.argv[1]))" "$FQ")"; done | med
echo "frames answer bytes $(stat -c %s $OUT/fr.bin)"
echo "perf: 20 JSON queries"
perf record -F 999 -g -p $CP -o $OUT/perf.data -- sleep 12 > /dev/null 2>&1 &
PP=$!
sleep 0.5
for i in $(seq 20); do curl -sf -o /dev/null "$Q"; done
wait $PP || true
perf report -i $OUT/perf.data --stdio 2>/dev/null | grep -m1 "Samples" || true
perf report -i $OUT/perf.data --children --sort symbol -g none --stdio 2>/dev/null | grep "%" | head -30 || true
echo "kept $OUT"
