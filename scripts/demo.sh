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
. scripts/lib.sh
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
demo_port demo.sh "$port" 65535
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

stop() { demo_stop demo.sh "$dir" "$root/build" agent coordinator; }
stop
[ $stop_only = 1 ] && exit 0

demo_need_root demo.sh
demo_build --build-only build

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
demo_port_free demo.sh "$url"
build/coordinator/gprof-coordinator --listen "127.0.0.1:$port" --state-dir "$dir/coordinator" \
  --heartbeat-interval-s "$heartbeat" > "$dir/coordinator.log" 2>&1 &
echo $! > "$dir/coordinator.pid"
demo_wait_up "$url" "$dir/coordinator.pid" 50 || { cat "$dir/coordinator.log" >&2; exit 1; }

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
