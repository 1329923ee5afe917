#!/usr/bin/env bash
# The whole product on one host: installs dependencies, builds, starts gprof-coordinator and
# gprof-agent on the embedded defaults (SQLite + a local directory, auth off on loopback), links
# gprofctl into /usr/local/bin and prints the URL.
# Usage (root): scripts/demo.sh [--port PORT] [--dir DIR] [--stop]
#   --port PORT  coordinator port on 127.0.0.1 (or GPROF_DEMO_PORT; default 8080)
#   --dir DIR    state and logs (or GPROF_DEMO_DIR; default /tmp/gprof-demo)
#   --stop       stop the demo's coordinator and agent (same --dir) and exit
# gprofctl is linked into ${GPROF_DEMO_BINDIR:-/usr/local/bin}.
# Agents heartbeat every 5 s here (30 s by default), so fleet commands start within ~5 s.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
port=${GPROF_DEMO_PORT:-8080}
dir=${GPROF_DEMO_DIR:-/tmp/gprof-demo}
heartbeat=5
bindir=${GPROF_DEMO_BINDIR:-/usr/local/bin}
stop_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    --stop) stop_only=1; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $port in
  ''|*[!0-9]*) echo "demo.sh: port '$port' is not a number from 1 to 65535" >&2; exit 2 ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  echo "demo.sh: port '$port' is not a number from 1 to 65535" >&2; exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# ours PID BINARY STATE_DIR — true when PID runs BINARY (from this checkout) with STATE_DIR: a pid
# file may be stale and its pid reused by an unrelated process, which must never be killed.
ours() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)} # rebuilt since it started
  [ "$exe" = "$2" ] || return 1
  tr '\0' '\n' < "/proc/$1/cmdline" 2>/dev/null | grep -qxF "$3"
}

stop() {
  local p pid bin
  for p in agent coordinator; do
    [ -f "$dir/$p.pid" ] || continue
    pid=$(cat "$dir/$p.pid")
    bin=$root/build/$p/gprof-$p
    if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid" "$bin" "$dir/$p"; then
      kill "$pid"
      for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" && echo "gprof-$p (pid $pid) did not exit 15 s after SIGTERM: killed (see $dir/$p.log)"
      else
        echo "stopped gprof-$p (pid $pid)"
      fi
    elif [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      echo "demo.sh: $dir/$p.pid names pid $pid, which is not this demo's gprof-$p; left alone" >&2
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

# gprofctl on PATH: a link to this build, unless another gprofctl (a package, `cmake --install`)
# is there already.
gprofctl=$root/build/cli/gprofctl
link=$bindir/gprofctl
if [ ! -e "$link" ] || [ "$(readlink "$link" 2>/dev/null)" = "$gprofctl" ]; then
  mkdir -p "$bindir" && ln -sfn "$gprofctl" "$link"
  gprofctl_note="gprofctl     $link -> $gprofctl"
else
  gprofctl_note="gprofctl     $gprofctl ($link is another gprofctl, left as it is)"
fi

url="http://127.0.0.1:$port"
if curl -fsS "$url/api/v1/health_check" > /dev/null 2>&1; then
  echo "demo.sh: something already answers on $url; choose another port: --port PORT or GPROF_DEMO_PORT" >&2
  exit 1
fi
build/coordinator/gprof-coordinator --listen "127.0.0.1:$port" --state-dir "$dir/coordinator" \
  --heartbeat-interval-s "$heartbeat" > "$dir/coordinator.log" 2>&1 &
echo $! > "$dir/coordinator.pid"
for _ in $(seq 50); do
  curl -fsS "$url/api/v1/health_check" > /dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$url/api/v1/health_check" > /dev/null || { cat "$dir/coordinator.log" >&2; exit 1; }

build/agent/gprof-agent --coordinator "$url" --service demo --state-dir "$dir/agent" \
  --heartbeat-interval "$heartbeat" -d 10 -F 99 > "$dir/agent.log" 2>&1 &
echo $! > "$dir/agent.pid"

cat <<MSG

gprof is running on embedded storage (state in $dir):
  coordinator  $url              log: $dir/coordinator.log
  agent        profiles this host in 10 s sessions, service "demo", heartbeat every $heartbeat s
               log: $dir/agent.log
  $gprofctl_note

Open $url in a browser. The first profile arrives about 10 s from now; the newest local flame
graph is also at $dir/agent/results/last_flamegraph.html.
Profile one process now:  sudo gprofctl record --pid PID -d 10
Ask the agent:            sudo gprofctl status
Fleet commands:           export GPROF_COORDINATOR=$url; gprofctl hosts
                          (they reach the agent at its next heartbeat, within $heartbeat s here)
Stop both:                scripts/demo.sh --stop --dir $dir
MSG
