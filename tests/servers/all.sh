#!/usr/bin/env bash
# Starts (or stops) every test server of tests/servers/server_*.sh privately on loopback, once per
# test run, so the storage suites run against real PostgreSQL, ClickHouse and S3.
# Usage: tests/servers/all.sh start|stop DIR
#   start: runs `server_<name>.sh start DIR` for each server; each writes DIR/<name>.env, lines
#          of `export GPROF_TEST_SPEC_<ENGINE>=<spec>` (with "{unique}" where a fixture's own
#          database/prefix goes) and anything else its tests need. Source DIR/*.env afterwards.
#   stop:  runs `server_<name>.sh stop DIR` for each (each kills only the pids it wrote in DIR).
# A server that fails to start fails the whole command (its log is printed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: all.sh start|stop DIR}
dir=${2:?usage: all.sh start|stop DIR}
mkdir -p "$dir"
status=0
for s in "$here"/server_*.sh; do
  [ -e "$s" ] || continue
  name=$(basename "$s" .sh)
  name=${name#server_}
  case $cmd in
    start)
      echo "   starting test server: $name"
      if ! bash "$s" start "$dir" >"$dir/$name.start.log" 2>&1; then
        echo "tests/servers: $name failed to start; its log:" >&2
        cat "$dir/$name.start.log" >&2
        status=1
      fi
      ;;
    stop) bash "$s" stop "$dir" >>"$dir/$name.stop.log" 2>&1 || true ;;
    *) echo "usage: all.sh start|stop DIR" >&2; exit 2 ;;
  esac
done
exit $status
