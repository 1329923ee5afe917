#!/usr/bin/env bash
# Starts (or stops) a private PostgreSQL cluster for the storage tests: initdb in DIR/postgres as
# user postgres (the server refuses root), 127.0.0.1 on a free port plus a unix socket in DIR,
# fsync on. Writes DIR/postgres.env (GPROF_TEST_SPEC_POSTGRES with a per-fixture schema) and the
# server's pid to DIR/postgres.pid; stop kills only that pid.
# Usage: tests/servers/server_postgres.sh start|stop DIR
set -euo pipefail
cmd=${1:?usage: server_postgres.sh start|stop DIR}
dir=$(mkdir -p "${2:?usage: server_postgres.sh start|stop DIR}" && cd "$2" && pwd)
run=$dir/postgres.run # owned by the server's user: the unix socket, the initial password
data=$run/data
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$bindir/postgres" ] || { echo "server_postgres: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }
pguser=postgres
id "$pguser" >/dev/null 2>&1 || pguser=nobody
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u "$pguser" -- "$@"; else "$@"; fi; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case $cmd in
start)
  rm -rf "$run"
  mkdir -p "$data"
  chmod 700 "$run"
  [ "$(id -u)" = 0 ] && chown -R "$pguser" "$run"
  # host connections need the password (the tests check a wrong one is refused); the socket
  # in DIR/postgres.run (mode 0700) is trusted for setup.
  pw=gprof-test-$RANDOM$RANDOM
  printf '%s\n' "$pw" >"$run/pw"
  [ "$(id -u)" = 0 ] && chown "$pguser" "$run/pw"
  as_pg "$bindir/initdb" -D "$data" -U gprof --auth-host=scram-sha-256 --auth-local=trust \
    --pwfile="$run/pw" -E UTF8 --no-instructions >/dev/null
  port=$(free_port)
  cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$run'
fsync = on
max_connections = 200
shared_buffers = 64MB
CONF
  as_pg "$bindir/pg_ctl" -D "$data" -l "$run/postgres.log" -w -t 30 start >/dev/null
  head -n1 "$data/postmaster.pid" >"$dir/postgres.pid"
  as_pg "$bindir/psql" -h "$run" -p "$port" -U gprof -d postgres -qc "CREATE DATABASE gprof" >/dev/null
  echo "export GPROF_TEST_SPEC_POSTGRES='postgres://gprof@127.0.0.1:$port/gprof?schema=t_{unique}'" >"$dir/postgres.env"
  echo "export PGPASSWORD='$pw'" >>"$dir/postgres.env"
  echo "export GPROF_TEST_PG_PORT=$port GPROF_TEST_PG_SOCKET='$run' GPROF_TEST_PG_BIN='$bindir'" >>"$dir/postgres.env"
  echo "postgres on 127.0.0.1:$port (pid $(cat "$dir/postgres.pid"))"
  ;;
stop)
  if [ -s "$dir/postgres.pid" ]; then
    pid=$(cat "$dir/postgres.pid")
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/postgres.pid"
  fi
  ;;
*) echo "usage: server_postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
