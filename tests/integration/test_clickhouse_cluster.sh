#!/bin/bash
# test_clickhouse_cluster.sh — the ClickHouse sample index in cluster mode: two clickhouse-server
# processes on loopback as two shards (remote_servers names both; no ZooKeeper, so the engine
# creates the local tables on each shard's HTTP endpoint from shards=) behind Distributed tables
# sharded by the stack hash. The same uploads go to a coordinator on the cluster and to one on a
# single server: the flame graphs are equal, both shards hold data, and either shard answers.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"
command -v clickhouse-server >/dev/null || { echo "skip: clickhouse-server not installed"; exit 77; }

SRV=$WORK/srv
CHS=$SRC/tests/servers/server_clickhouse.sh
mkdir -p "$SRV"
H1=$(free_port) T1=$(free_port) H2=$(free_port) T2=$(free_port)
for s in shard1 shard2; do
    cat >"$SRV/$s.remote_servers.xml" <<XML
<remote_servers><gp2>
  <shard><replica><host>127.0.0.1</host><port>$T1</port></replica></shard>
  <shard><replica><host>127.0.0.1</host><port>$T2</port></replica></shard>
</gp2></remote_servers>
XML
done
GPROF_CH_HTTP_PORT=$H1 GPROF_CH_TCP_PORT=$T1 bash "$CHS" start "$SRV" shard1 >/dev/null || fail "shard1"
trap 'bash "$CHS" stop "$SRV" shard1; bash "$CHS" stop "$SRV" shard2; cleanup' EXIT
GPROF_CH_HTTP_PORT=$H2 GPROF_CH_TCP_PORT=$T2 bash "$CHS" start "$SRV" shard2 >/dev/null || fail "shard2"
chq() { curl -sS "http://127.0.0.1:$1/" --data-binary "$2"; }

N=24
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
TA=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S)
TB=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%S)
mkdir -p "$WORK/b"
python3 - "$WORK/b" "$N" "$NOW" <<'PY'
import gzip, json, sys
d, n, now = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(n):
    lines = ['# {"metadata":{"hostname":"h%d","run_arguments":{"service_name":"svc"}}}' % (i % 3)]
    for k in range(200):
        lines.append("0;c%d;comm%d;main;f%d;g%d;leaf%d %d" % (k % 3, k % 5, k, (k * 7 + i) % 13, k % 11, 1 + (k * i) % 17))
    body = {"start_time": now, "end_time": now, "hostname": "h%d" % (i % 3),
            "profile": "\n".join(lines), "cpu_avg": 1.0, "mem_avg": 2.0, "spawn_time": now, "gpid": ""}
    open("%s/%d.gz" % (d, i), "wb").write(gzip.compress(json.dumps(body).encode()))
PY

graph() { # label index-spec -> $WORK/<label>.col (after indexing every upload)
    local label=$1 spec=$2
    PORT=$(free_port)
    start_coord "$WORK/state-$label" --index "$spec"
    for i in $(seq 0 $((N - 1))); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$H/api/v2/profiles?service=svc" \
            -H 'GPROFILER-SERVICE-NAME: svc' -H 'Content-Encoding: gzip' --data-binary @"$WORK/b/$i.gz")
        [ "$code" = 200 ] || fail "$label: upload $i: $code"
    done
    for _ in $(seq 1 300); do
        n=$(curl -s "$H/api/v1/services" | grep -o '"svc"' | wc -l || true)
        curl -s "$H/api/flamegraph?serviceName=svc&startTime=$TA&endTime=$TB&stacksCount=100000&format=collapsed" >"$WORK/$label.col" || true
        [ "$(awk '{s += $NF} END {print s + 0}' "$WORK/$label.col")" = "$EXPECT" ] && break
        sleep 0.1
    done
    sort -o "$WORK/$label.col" "$WORK/$label.col"
    curl -s "$H/api/flamegraph?serviceName=svc&startTime=$TA&endTime=$TB&stacksCount=100000&format=collapsed&filter=%7B%22container%22%3A%7B%22%24in%22%3A%5B%22c1%22%5D%7D%7D" | sort >"$WORK/$label.filtered.col" || true
    stop_coord
    PORT=
}
EXPECT=$(python3 - "$N" <<'PY'
import sys
n = int(sys.argv[1]); print(sum(1 + (k * i) % 17 for i in range(n) for k in range(200)))
PY
)
graph cluster "clickhouse://127.0.0.1:$H1/c?cluster=gp2&shards=127.0.0.1:$H1,127.0.0.1:$H2"
graph single "clickhouse://127.0.0.1:$H1/s"
[ -s "$WORK/single.col" ] || fail "empty flame graph from the single server"
cmp -s "$WORK/cluster.col" "$WORK/single.col" || fail "cluster flame graph differs from the single server's: $(diff "$WORK/cluster.col" "$WORK/single.col" | head -5)"
cmp -s "$WORK/cluster.filtered.col" "$WORK/single.filtered.col" || fail "filtered flame graphs differ"
ok "the flame graph from two shards equals the one from a single server ($(wc -l <"$WORK/single.col") stacks, $EXPECT samples; a container filter too)"
r1=$(chq "$H1" "SELECT count() FROM c.samples_local")
r2=$(chq "$H2" "SELECT count() FROM c.samples_local")
[ "$r1" -gt 0 ] && [ "$r2" -gt 0 ] || fail "rows per shard: $r1 and $r2 (want both > 0)"
s1=$(chq "$H1" "SELECT sum(count) FROM c.samples")
s2=$(chq "$H2" "SELECT sum(count) FROM c.samples")
[ "$s1" = "$EXPECT" ] && [ "$s2" = "$EXPECT" ] || fail "distributed totals $s1 / $s2, want $EXPECT"
ok "both shards hold rows ($r1 + $r2) and either one answers for the whole cluster"
