#!/usr/bin/env bash
# bench/clickhouse_index.sh — the ClickHouse sample index at one day's size: fills the engine's
# schema (the tables coordinator/backends/clickhouse/ch_schema.c creates, copied from a database
# the engine made) with HOSTS hosts x 1,440 one-minute profiles x 2,000 stacks (INSERT ... SELECT
# on the server, so the rollups fill through the same materialized views), then times the two
# statements a flame graph costs (aggregation over the planned slices + the dictionary fetch of
# the kept stacks) for 1 hour and 1 day, and reports bytes per sample from system.parts.
# Usage: bench/clickhouse_index.sh HTTP_PORT SCHEMA_DB [HOSTS=10]
set -euo pipefail
P=${1:?usage: clickhouse_index.sh HTTP_PORT SCHEMA_DB [HOSTS]}
SRC_DB=${2:?schema database made by the engine (e.g. a t_... database of the unit tests)}
HOSTS=${3:-10}
DB=bench_index
q() { curl -sS --fail-with-body "http://127.0.0.1:$P/?max_query_size=268435456" --data-binary "$1"; }
ms() { local t0 t1; t0=$(date +%s%N); q "$1" >/dev/null; t1=$(date +%s%N); echo $(((t1 - t0) / 1000000)); }
q "DROP DATABASE IF EXISTS $DB"
q "CREATE DATABASE $DB"
for t in samples samples_hour samples_day stacks profiles; do q "CREATE TABLE $DB.$t AS $SRC_DB.$t"; done
for r in hour:3600 day:86400; do
  q "CREATE MATERIALIZED VIEW $DB.samples_${r%%:*}_mv TO $DB.samples_${r%%:*} AS SELECT service, toUInt32(intDiv(minute, ${r##*:}) * ${r##*:}) AS ts, stack, host, toUInt64(sum(count)) AS count FROM $DB.samples GROUP BY service, ts, stack, host"
done
T0=1767225600
ROWS=$((HOSTS * 1440 * 2000))
t0=$(date +%s%N)
# one profile per host and minute; stack k of 2,000 (hash = intHash64(k)); counts 1..50
for h in $(seq 0 $((HOSTS - 1))); do
  q "INSERT INTO $DB.samples SELECT 'bench', toUInt32($T0 + intDiv(number, 2000) * 60), intHash64(number % 2000), 'host-$h', toUInt64($h * 1440 + intDiv(number, 2000) + 1), toUInt32(1 + intHash32(number + $h) % 50) FROM numbers(2880000) SETTINGS max_insert_block_size = 2880000"
done
t1=$(date +%s%N)
q "INSERT INTO $DB.stacks SELECT intHash64(number), toUInt32($T0 / 86400), 'c', 'java', arrayMap(i -> concat('frame_', toString(number), '_', toString(i)), range(40)) FROM numbers(2000)"
echo "# clickhouse index bench: $HOSTS hosts x 1440 min x 2000 stacks = $ROWS sample rows inserted in $(((t1 - t0) / 1000000)) ms ($((ROWS / ((t1 - t0) / 1000000 + 1) * 1000)) rows/s, server-side INSERT SELECT with both rollups)"
HASHES=$(q "SELECT arrayStringConcat(groupArray(toString(hash)), ',') FROM (SELECT DISTINCT hash FROM $DB.stacks)")
fetch="SELECT hash, any(container), any(comm), any(frames) FROM $DB.stacks WHERE hash IN ($HASHES) GROUP BY hash FORMAT RowBinary"
agg_hour="SELECT stack, toUInt64(sum(n)) AS t FROM (SELECT stack, toUInt64(sum(count)) AS n FROM $DB.samples_hour WHERE service = 'bench' AND ts >= $((T0 + 36000)) AND ts < $((T0 + 39600)) GROUP BY stack) GROUP BY stack FORMAT RowBinary"
agg_day="SELECT stack, toUInt64(sum(n)) AS t FROM (SELECT stack, toUInt64(sum(count)) AS n FROM $DB.samples_day WHERE service = 'bench' AND ts >= $T0 AND ts < $((T0 + 86400)) GROUP BY stack) GROUP BY stack FORMAT RowBinary"
agg_min="SELECT stack, toUInt64(sum(n)) AS t FROM (SELECT stack, toUInt64(sum(count)) AS n FROM $DB.samples WHERE service = 'bench' AND minute >= $((T0 + 36000)) AND minute < $((T0 + 39600)) GROUP BY stack) GROUP BY stack FORMAT RowBinary"
best() { local b=999999 v; for _ in 1 2 3; do v=$(ms "$1"); [ "$v" -lt "$b" ] && b=$v; done; echo $b; }
f=$(best "$fetch")
echo "# clickhouse index bench: flame graph 1 hour (hour rollup): $(( $(best "$agg_hour") + f )) ms; 1 hour from minutes only: $(( $(best "$agg_min") + f )) ms; 1 day (day rollup): $(( $(best "$agg_day") + f )) ms (of which the 2,000-stack dictionary fetch: $f ms)"
q "OPTIMIZE TABLE $DB.samples_day FINAL" || true
q "SELECT '# clickhouse index bench: bytes per sample row: raw ' || toString(round(sumIf(bytes_on_disk, table = 'samples') / $ROWS, 2)) || ', all tables (raw + rollups + dictionary + profiles) ' || toString(round(sum(bytes_on_disk) / $ROWS, 2)) FROM system.parts WHERE database = '$DB' AND active"
