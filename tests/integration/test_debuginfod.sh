#!/usr/bin/env bash
# Acceptance (issue 13, debuginfod): a stripped workload (tests/workloads/debuginfod_wl.c, its
# only symbols in a debug file no local directory holds) is named through a local debuginfod
# server (Debian's `debuginfod`) once `gprofctl record` (DEBUGINFOD_URLS or --debuginfod-urls) or
# gprof-agent (--debuginfod-urls) is pointed at it, and is unnamed without it. A server that
# accepts and never answers, and a file over the size bound, leave frames unnamed without
# stalling the recording.
#
# debuginfod 0.188 has no option to choose its listen address: it listens on every address of
# its network namespace. So the test runs in a network namespace of its own whose only interface
# is loopback: the server is reachable from 127.0.0.1 and from nowhere else.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root

# Missing tools: a skip here, a failure in CI (scripts/install-deps.sh installs them).
need() { # TOOL PACKAGE
  command -v "$1" > /dev/null && return
  [ "${CI:-}" = true ] && fail "$1 not found: install Debian's $2 (scripts/install-deps.sh)"
  skip "$1 not found (Debian package $2)"
}
need debuginfod debuginfod
need unshare util-linux
need ip iproute2
need curl curl
need python3 python3

if [ -z "${GPROF_DEBUGINFOD_NETNS:-}" ]; then
  GPROF_DEBUGINFOD_NETNS=1 exec unshare --net bash "$0" "$@"
fi
ip link set lo up

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
bin=$WL/debuginfod_wl
id=$(readelf -n "$bin" | sed -n 's/.*Build ID: *//p' | head -1)
[ -n "$id" ] || fail "$bin has no build-id"
! readelf -S "$bin" | grep -q '\.symtab' || fail "$bin is not stripped"
unset DEBUGINFOD_URLS DEBUGINFOD_CACHE_PATH DEBUGINFOD_TIMEOUT DEBUGINFOD_MAXSIZE DEBUGINFOD_PROGRESS

port=$((20000 + RANDOM % 40000))
debuginfod -F -p "$port" -d "$tmp/db.sqlite" -t 0 -g 0 "$WL/debuginfod-srv" > "$tmp/server.log" 2>&1 &
url=http://127.0.0.1:$port
for _ in $(seq 150); do
  curl -sf -o /dev/null "$url/buildid/$id/debuginfo" && break
  sleep 0.2
done
curl -sf -o /dev/null "$url/buildid/$id/debuginfo" || { tail "$tmp/server.log"; fail "debuginfod does not serve build-id $id"; }

# Records the workload for 5 s (env and flags given as arguments); counts its samples in the
# hot function and in unnamed frames of the binary.
record() { # LABEL [VAR=VALUE...] [-- gprofctl options]
  local label=$1; shift
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift
  timeout 120 env "${envs[@]}" "$GPROFCTL" record -q -F 499 "$@" -o "$tmp/$label.col" -- "$bin" 5 \
    > /dev/null 2> "$tmp/$label.err" || { cat "$tmp/$label.err"; fail "$label: record failed or hung"; }
  total=$(total_samples "$tmp/$label.col")
  hot=$(count_matching "$tmp/$label.col" ';debuginfod_hot_spin( |;)')
  unnamed=$(count_matching "$tmp/$label.col" ';debuginfod_wl\+0x[0-9a-f]+( |;)')
  echo "$label: $total samples, $hot in debuginfod_hot_spin, $unnamed in unnamed debuginfod_wl frames"
  [ "$total" -ge 50 ] || fail "$label: only $total samples"
}
built_with() { ! grep -q 'built without libdebuginfod' "$1"; }

record no_server
[ "$hot" -eq 0 ] && [ "$unnamed" -gt 0 ] || fail "no_server: the stripped workload was named"

record env_urls "DEBUGINFOD_URLS=$url" "DEBUGINFOD_CACHE_PATH=$tmp/cache-env"
built_with "$tmp/env_urls.err" || fail "gprofctl was built without libdebuginfod (install libdebuginfod-dev)"
grep -q 'debuginfod: fetching' "$tmp/env_urls.err" || { cat "$tmp/env_urls.err"; fail "env_urls: debuginfod not enabled"; }
# named from the drain after the fetch (how many samples came before depends on the load)
[ "$hot" -gt 0 ] || { cat "$tmp/env_urls.err"; fail "env_urls: debuginfod_hot_spin never named"; }
[ -s "$tmp/cache-env/$id/debuginfo" ] || fail "env_urls: nothing in the cache"

record flag_urls "DEBUGINFOD_CACHE_PATH=$tmp/cache-flag" -- --debuginfod-urls "$url"
[ "$hot" -gt 0 ] || { cat "$tmp/flag_urls.err"; fail "flag_urls: debuginfod_hot_spin never named"; }
record flag_off "DEBUGINFOD_URLS=$url" "DEBUGINFOD_CACHE_PATH=$tmp/cache-off" -- --debuginfod-urls ""
[ "$hot" -eq 0 ] || fail "flag_off: --debuginfod-urls \"\" did not turn fetching off"

# over the size bound (the debug file is ~10 KB): not fetched, not named
record too_big "DEBUGINFOD_URLS=$url" "DEBUGINFOD_CACHE_PATH=$tmp/cache-big" DEBUGINFOD_MAXSIZE=1000
[ "$hot" -eq 0 ] && [ "$unnamed" -gt 0 ] || fail "too_big: a file over DEBUGINFOD_MAXSIZE was used"

# a server that accepts connections and never answers: the recording ends (the fetch is
# abandoned when the session closes) and the frames stay unnamed
stall_port=$((port == 60000 ? 20001 : port + 1))
python3 -c 'import socket,sys,time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); time.sleep(3600)' "$stall_port" &
for _ in $(seq 50); do (exec 3<> "/dev/tcp/127.0.0.1/$stall_port") 2> /dev/null && break; sleep 0.1; done
record stalled "DEBUGINFOD_URLS=http://127.0.0.1:$stall_port" "DEBUGINFOD_CACHE_PATH=$tmp/cache-stall"
[ "$hot" -eq 0 ] && [ "$unnamed" -gt 0 ] || fail "stalled: frames named without a server"
# the agent: --debuginfod-urls, its cache under the state directory
"$bin" 60 > /dev/null &
wpid=$!
"$BUILD/agent/gprof-agent" --state-dir "$tmp/agent" --control-socket "$tmp/agent.sock" -d 2 -F 99 \
  --debuginfod-urls "$url" > "$tmp/agent.log" 2>&1 &
apid=$!
named=
for _ in $(seq 150); do
  if grep -qs ';debuginfod_hot_spin' "$tmp"/agent/results/*.col; then named=1; break; fi
  kill -0 $apid 2> /dev/null || { cat "$tmp/agent.log"; fail "agent: exited"; }
  sleep 0.2
done
kill -TERM $apid; wait $apid || true
kill $wpid 2> /dev/null || true
[ -n "$named" ] || { tail "$tmp/agent.log"; fail "agent: debuginfod_hot_spin never named"; }
[ -s "$tmp/agent/debuginfod/$id/debuginfo" ] || fail "agent: not cached in STATE_DIR/debuginfod"
echo "agent: named through debuginfod, cached in STATE_DIR/debuginfod"
echo "PASS"
