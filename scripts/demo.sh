#!/usr/bin/env bash
# The whole product on one host: installs dependencies, builds, starts gprof-coordinator and
# gprof-agent on the embedded defaults (SQLite + a local directory, auth off on loopback), and
# prints the URL. Usage (root): scripts/demo.sh [--port PORT] [--stop]
# State and logs live in ${GPROF_DEMO_DIR:-/tmp/gprof-demo}; `scripts/demo.sh --stop` ends it.
set -euo pipefail
cd "$(dirname "$0")/.."
port=8080
dir=${GPROF_DEMO_DIR:-/tmp/gprof-demo}
stop_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --port) port=$2; shift 2 ;;
    --stop) stop_only=1; shift ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

stop() {
  for p in agent coordinator; do
    if [ -f "$dir/$p.pid" ] && kill -0 "$(cat "$dir/$p.pid")" 2>/dev/null; then
      kill "$(cat "$dir/$p.pid")"; echo "stopped gprof-$p"
    fi
    rm -f "$dir/$p.pid"
  done
}
stop
[ $stop_only = 1 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: the agent samples the whole host with eBPF and needs root: sudo $0" >&2
  exit 1
fi
bash scripts/install-deps.sh --build-only
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPROF_BUILD_TESTS=OFF > /dev/null
cmake --build build -j"$(nproc)"

mkdir -p "$dir"
url="http://127.0.0.1:$port"
build/coordinator/gprof-coordinator --listen "127.0.0.1:$port" --state-dir "$dir/coordinator" \
  > "$dir/coordinator.log" 2>&1 &
echo $! > "$dir/coordinator.pid"
for _ in $(seq 50); do
  curl -fsS "$url/api/v1/health_check" > /dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$url/api/v1/health_check" > /dev/null || { cat "$dir/coordinator.log" >&2; exit 1; }

build/agent/gprof-agent --coordinator "$url" --service demo --state-dir "$dir/agent" \
  -d 10 -F 99 > "$dir/agent.log" 2>&1 &
echo $! > "$dir/agent.pid"

cat <<MSG

gprof is running on embedded storage (state in $dir):
  coordinator  $url              log: $dir/coordinator.log
  agent        profiles this host in 10 s sessions, service "demo"   log: $dir/agent.log

Open $url in a browser. The first profile arrives about 10 s from now; the newest local flame
graph is also at $dir/agent/results/last_flamegraph.html.
Profile one process now:  sudo build/cli/gprofctl record --pid PID -d 10
Stop both:                scripts/demo.sh --stop
MSG
