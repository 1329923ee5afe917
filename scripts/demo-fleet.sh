#!/usr/bin/env bash
# The fleet setup on one host: installs dependencies, builds, starts PostgreSQL, ClickHouse and an
# S3 server (s3rver) privately on loopback (tests/servers/*.sh), two gprof-coordinators on those
# stores (metadata in PostgreSQL, profiles in S3, the sample index in ClickHouse) and a
# gprof-agent heartbeating to the second; prints both URLs. Either coordinator serves everything.
# Usage (root): scripts/demo-fleet.sh [start] [--port PORT] [--dir DIR] [--no-build]
#               scripts/demo-fleet.sh stop [--dir DIR]
#   --port PORT  first coordinator on 127.0.0.1:PORT, the second on PORT+1 (or GPROF_DEMO_PORT;
#                default 8090)
#   --dir DIR    servers' data, state and logs (or GPROF_DEMO_DIR; default /tmp/gprof-demo-fleet)
#   --no-build   use the binaries already built (no package installation, no build) in build/
#                or GPROF_DEMO_BUILD_DIR
#   stop         stops the agent, both coordinators and the three servers of DIR
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib.sh
port=${GPROF_DEMO_PORT:-8090}
dir=${GPROF_DEMO_DIR:-/tmp/gprof-demo-fleet}
heartbeat=5
build=1
bdir=${GPROF_DEMO_BUILD_DIR:-$root/build}
cmd=start
while [ $# -gt 0 ]; do
  case $1 in
    start | stop) cmd=$1; shift ;;
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo-fleet.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
demo_port demo-fleet.sh "$port" 65534
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

stop_gprof() { demo_stop demo-fleet.sh "$dir" "$bdir" agent coordinator-b coordinator-a; }

stop_all() {
  stop_gprof
  if [ -d "$dir/servers" ]; then
    bash tests/servers/all.sh stop "$dir/servers"
    echo "stopped PostgreSQL, ClickHouse and s3rver (data kept in $dir/servers)"
  fi
}

if [ "$cmd" = stop ]; then
  stop_all
  exit 0
fi
stop_gprof # a previous run's processes on this DIR

demo_need_root demo-fleet.sh
[ $build = 0 ] || demo_build --fleet "$bdir"
for b in "$bdir/coordinator/gprof-coordinator" "$bdir/agent/gprof-agent"; do
  [ -x "$b" ] || { echo "demo-fleet.sh: $b is not built (run without --no-build)" >&2; exit 1; }
done
urla="http://127.0.0.1:$port"
urlb="http://127.0.0.1:$((port + 1))"
demo_port_free demo-fleet.sh "$urla" "$urlb"

# The servers: each on a free loopback port, data under DIR/servers; a failure stops the others.
bash tests/servers/all.sh stop "$dir/servers" >/dev/null 2>&1 || true
if ! bash tests/servers/all.sh start "$dir/servers"; then
  bash tests/servers/all.sh stop "$dir/servers" >/dev/null 2>&1 || true
  exit 1
fi
for f in "$dir"/servers/*.env; do . "$f"; done
meta=${GPROF_TEST_SPEC_POSTGRES//\{unique\}/demo}
blobs=${GPROF_TEST_SPEC_S3//\{unique\}/demo}
index=${GPROF_TEST_SPEC_CLICKHOUSE//\{unique\}/demo}

# start_coord NAME URL: a coordinator on the shared stores, auth off (loopback), state (its
# local files only: the stores are the servers) in DIR/coordinator-NAME.
start_coord() {
  "$bdir/coordinator/gprof-coordinator" --listen "${2#http://}" --state-dir "$dir/coordinator-$1" \
    --meta "$meta" --blobs "$blobs" --index "$index" --heartbeat-interval-s "$heartbeat" \
    >"$dir/coordinator-$1.log" 2>&1 &
  echo $! >"$dir/coordinator-$1.pid"
  demo_wait_up "$2" "$dir/coordinator-$1.pid" 300 && return 0
  echo "demo-fleet.sh: coordinator $1 did not start; its log:" >&2
  cat "$dir/coordinator-$1.log" >&2
  stop_all >/dev/null
  exit 1
}
start_coord a "$urla" # creates the schema, tables and bucket prefix first
start_coord b "$urlb"

"$bdir/agent/gprof-agent" --coordinator "$urlb" --service demo --state-dir "$dir/agent" \
  --heartbeat-interval "$heartbeat" -d 10 -F 99 >"$dir/agent.log" 2>&1 &
echo $! >"$dir/agent.pid"

cat <<MSG

gprof is running on the fleet stores (everything under $dir):
  coordinator A  $urla    log: $dir/coordinator-a.log
  coordinator B  $urlb    log: $dir/coordinator-b.log
  agent          heartbeats to B, profiles this host in 10 s sessions, service "demo"
                 log: $dir/agent.log
  PostgreSQL     $meta
  S3 (s3rver)    $blobs
  ClickHouse     $index

Both coordinators serve the same data: open either URL in a browser (the first profile arrives
about 10 s from now). A request made through A reaches the agent heartbeating to B:
  $bdir/cli/gprofctl start --coordinator $urla --service demo -d 5
  $bdir/cli/gprofctl hosts --coordinator $urla
Stop everything:  scripts/demo-fleet.sh stop --dir $dir
MSG
