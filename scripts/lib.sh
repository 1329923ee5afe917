# scripts/lib.sh — the steps scripts/demo.sh and scripts/demo-fleet.sh share, sourced by both:
# port checks, stopping only the demo's own processes, root, install + build, waiting for health.
# Every function takes the calling script's name (for messages) first where it prints.

# demo_port NAME PORT MAX — exits 2 unless PORT is a number from 1 to MAX.
demo_port() {
  case $2 in
    '' | *[!0-9]*) echo "$1: port '$2' is not a number from 1 to $3" >&2; exit 2 ;;
  esac
  if [ "$2" -lt 1 ] || [ "$2" -gt "$3" ]; then
    echo "$1: port '$2' is not a number from 1 to $3" >&2; exit 2
  fi
}

# demo_ours PID BINARY ARG — true when PID runs BINARY (from this checkout) with ARG on its command
# line: a stale pid file's pid may have been reused by an unrelated process, never to be killed.
demo_ours() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)} # rebuilt since it started
  [ "$exe" = "$2" ] || return 1
  tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF "$3"
}

# demo_stop NAME DIR BUILD_DIR PROC... — stops each PROC (agent, coordinator, coordinator-a ...)
# whose DIR/PROC.pid names BUILD_DIR's gprof-agent / gprof-coordinator run with state DIR/PROC:
# SIGTERM, SIGKILL after 15 s. A pid file naming another process leaves it alone.
demo_stop() {
  local name=$1 dir=$2 bdir=$3 p pid prog
  shift 3
  for p in "$@"; do
    [ -f "$dir/$p.pid" ] || continue
    pid=$(cat "$dir/$p.pid")
    prog=${p%-?}
    if [[ $pid =~ ^[0-9]+$ ]] && demo_ours "$pid" "$bdir/$prog/gprof-$prog" "$dir/$p"; then
      kill "$pid"
      for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" && echo "gprof-$p (pid $pid) did not exit 15 s after SIGTERM: killed (see $dir/$p.log)"
      else
        echo "stopped gprof-$p (pid $pid)"
      fi
    elif [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      echo "$name: $dir/$p.pid names pid $pid, which is not this demo's gprof-$p; left alone" >&2
    fi
    rm -f "$dir/$p.pid"
  done
}

# demo_need_root NAME — exits 1 unless root (the agent samples the host with eBPF).
demo_need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "$1: the agent samples the whole host with eBPF and needs root: sudo $0" >&2
    exit 1
  fi
}

# demo_build DEPS_FLAG BUILD_DIR — installs the Debian packages (install-deps.sh DEPS_FLAG) and
# builds the programs, without tests, into BUILD_DIR.
demo_build() {
  bash scripts/install-deps.sh "$1"
  cmake -S . -B "$2" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPROF_BUILD_TESTS=OFF >/dev/null
  cmake --build "$2" -j"$(nproc)"
}

# demo_port_free NAME URL... — exits 1 when something already answers on one of the URLs.
demo_port_free() {
  local name=$1 u
  shift
  for u in "$@"; do
    if curl -fsS "$u/api/v1/health_check" >/dev/null 2>&1; then
      echo "$name: something already answers on $u; choose another port: --port PORT or GPROF_DEMO_PORT" >&2
      exit 1
    fi
  done
}

# demo_wait_up URL PIDFILE TENTHS — true once URL's health check answers within TENTHS tenths
# of a second; false at once when the process of PIDFILE has exited.
demo_wait_up() {
  for _ in $(seq "$3"); do
    curl -fsS "$1/api/v1/health_check" >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$2")" 2>/dev/null || return 1
    sleep 0.1
  done
  curl -fsS "$1/api/v1/health_check" >/dev/null 2>&1
}
