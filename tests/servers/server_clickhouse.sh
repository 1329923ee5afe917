#!/usr/bin/env bash
# Starts (or stops) a private clickhouse-server on loopback for the ClickHouse index tests.
# Usage: tests/servers/server_clickhouse.sh start|stop DIR [NAME]
#   start: config under DIR/NAME (default "clickhouse"): 127.0.0.1 only, free http/tcp ports,
#          data, logs and tmp under it, small caches; runs as user clickhouse (root when the user
#          is missing); waits for /ping; writes DIR/NAME.env (GPROF_TEST_SPEC_CLICKHOUSE and, for
#          the cluster test, GPROF_TEST_CH_HTTP_PORT / _TCP_PORT) and DIR/NAME.pid.
#   The optional DIR/NAME.remote_servers.xml (a <remote_servers> element) is included verbatim.
#   stop:  kills only the pid in DIR/NAME.pid.
set -euo pipefail
cmd=${1:?usage: server_clickhouse.sh start|stop DIR [NAME]}
dir=${2:?usage: server_clickhouse.sh start|stop DIR [NAME]}
name=${3:-clickhouse}
dir=$(mkdir -p "$dir" && cd "$dir" && pwd)
home=$dir/$name
pidf=$dir/$name.pid

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

case $cmd in
stop)
  if [ -s "$pidf" ]; then
    pid=$(cat "$pidf")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidf"
  fi
  exit 0
  ;;
start) ;;
*) echo "usage: server_clickhouse.sh start|stop DIR [NAME]" >&2; exit 2 ;;
esac

bin=$(command -v clickhouse-server || command -v clickhouse || true)
[ -n "$bin" ] || { echo "clickhouse-server is not installed (apt-get install clickhouse-server)" >&2; exit 1; }
mkdir -p "$home"/{data,tmp,log,user_files,format_schemas}
http=${GPROF_CH_HTTP_PORT:-$(free_port)}
tcp=${GPROF_CH_TCP_PORT:-$(free_port)}
inter=$(free_port)
remote=""
[ -f "$dir/$name.remote_servers.xml" ] && remote=$(cat "$dir/$name.remote_servers.xml")
cat >"$home/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$home/log/server.log</log><errorlog>$home/log/error.log</errorlog><size>10M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <interserver_http_port>$inter</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>$home/data/</path>
  <tmp_path>$home/tmp/</tmp_path>
  <user_files_path>$home/user_files/</user_files_path>
  <format_schema_path>$home/format_schemas/</format_schema_path>
  <users_config>$home/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <max_connections>256</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>64</max_concurrent_queries>
  <uncompressed_cache_size>8388608</uncompressed_cache_size>
  <mark_cache_size>33554432</mark_cache_size>
  <mlock_executable>false</mlock_executable>
  $remote
</yandex>
XML
cat >"$home/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage><load_balancing>random</load_balancing></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
run=()
if id clickhouse >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  chown -R clickhouse: "$home"
  # the server user must reach DIR: let it traverse (not list) private parents such as mktemp's
  d=$dir
  while [ "$d" != / ] && ! setpriv --reuid=clickhouse --regid=clickhouse --init-groups test -x "$d"; do
    chmod o+x "$d"
    d=$(dirname "$d")
  done
  run=(setpriv --reuid=clickhouse --regid=clickhouse --init-groups)
fi
if [ "$(basename "$bin")" = clickhouse ]; then bin_args=(server); else bin_args=(); fi
"${run[@]}" "$bin" "${bin_args[@]}" --config-file="$home/config.xml" >"$home/log/stdout.log" 2>&1 &
echo $! >"$pidf"
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$http/ping" >/dev/null 2>&1; then
    cat >"$dir/$name.env" <<ENV
export GPROF_TEST_SPEC_CLICKHOUSE='clickhouse://127.0.0.1:$http/t_{unique}'
export GPROF_TEST_CH_HTTP_PORT=$http
export GPROF_TEST_CH_TCP_PORT=$tcp
ENV
    echo "clickhouse: http $http tcp $tcp pid $(cat "$pidf")"
    exit 0
  fi
  kill -0 "$(cat "$pidf")" 2>/dev/null || break
  sleep 0.1
done
echo "clickhouse did not answer /ping; its logs:" >&2
tail -n 30 "$home/log/stdout.log" "$home/log/error.log" >&2 2>/dev/null || true
exit 1
