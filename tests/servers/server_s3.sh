#!/usr/bin/env bash
# server_s3.sh — the S3 server of the tests: s3rver (npm, locked in tests/servers/s3/
# package-lock.json) through tests/servers/s3/run.js, on 127.0.0.1 and a free port, data under
# DIR/s3-data, bucket gprof-test. Writes DIR/s3.env (GPROF_TEST_SPEC_S3 with "{unique}" as the
# prefix, GPROF_TEST_S3_ENDPOINT, and the test keys s3rver accepts as AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY) and DIR/s3.pid; stop kills that pid only.
# Usage: tests/servers/server_s3.sh start|stop DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: server_s3.sh start|stop DIR}
dir=${2:?usage: server_s3.sh start|stop DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

case $cmd in
start)
  command -v node >/dev/null || { echo "server_s3: node is not installed (scripts/install-deps.sh)" >&2; exit 1; }
  if [ ! -d "$here/s3/node_modules/s3rver" ]; then
    (cd "$here/s3" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  rm -rf "$dir/s3-data"
  mkdir -p "$dir/s3-data"
  # s3rver makes its list continuation tokens with DES, in OpenSSL 3's legacy provider
  node --openssl-legacy-provider "$here/s3/run.js" "$dir/s3-data" gprof-test >"$dir/s3.log" 2>&1 &
  echo $! >"$dir/s3.pid"
  port=
  for _ in $(seq 1 300); do
    port=$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/s3.log")
    [ -n "$port" ] && break
    kill -0 "$(cat "$dir/s3.pid")" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "server_s3: s3rver did not start; its log:" >&2
    cat "$dir/s3.log" >&2
    exit 1
  fi
  cat >"$dir/s3.env" <<ENV
export GPROF_TEST_SPEC_S3='s3://gprof-test/{unique}?endpoint=http://127.0.0.1:$port&region=us-east-1&style=path'
export GPROF_TEST_S3_ENDPOINT=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
ENV
  echo "s3rver on 127.0.0.1:$port (pid $(cat "$dir/s3.pid"))"
  ;;
stop)
  if [ -f "$dir/s3.pid" ]; then
    pid=$(cat "$dir/s3.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/s3.pid"
  fi
  ;;
*)
  echo "usage: server_s3.sh start|stop DIR" >&2
  exit 2
  ;;
esac
