#!/bin/bash
# test_coordinator_slowloris.sh — issue 10 #2: the coordinator runs under `ulimit -n 1024`
# (soft and hard). 1,100 connections from 127.0.0.2 that dribble a header byte a second: all but
# max_connections_per_ip are closed at once, the rest are answered 408 and closed at the header deadline although
# never idle, and /api/v1/health_check from 127.0.0.1 answers 200 meanwhile; no "Too many open
# files". Then the global cap: beyond max_connections new connections are closed at once, not
# queued; a kept-alive connection dribbling its next header is cut off too. And the start-up
# check of the open-file limit against max_connections.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

# start_limited ARGS...: the coordinator with soft = hard = 1024 open files
start_limited() {
    PORT=$(free_port)
    H=http://127.0.0.1:$PORT
    (ulimit -n 1024 && exec "$COORD" --listen "127.0.0.1:$PORT" --state-dir "$WORK/state" "$@") \
        >>"$WORK/coord.log" 2>&1 &
    COORD_PID=$!
    wait_coord_up
}

# slow.py PORT N SECONDS: opens N connections from 127.0.0.2, sends one header byte a second
# on each for SECONDS; prints "open_after_connect=K probe=CODE open_at_end=M".
cat >"$WORK/slow.py" <<'PY'
import errno, resource, socket, sys, time, urllib.request
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 200), hard))
socks = []
for _ in range(n):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        socks.append(s)
    except OSError:
        s.close()  # refused or timed out: not open
def alive(s):
    s.setblocking(False)
    try:
        d = s.recv(65536)  # a 408 from the header deadline is followed by EOF: closed
        return d != b"" and not d.startswith(b"HTTP/1.1 408")
    except BlockingIOError:
        return True
    except OSError:
        return False
time.sleep(1.5)
open_socks = [s for s in socks if alive(s)]
after_connect = len(open_socks)
code = 0
try:
    code = urllib.request.urlopen("http://127.0.0.1:%d/api/v1/health_check" % port, timeout=10).status
except Exception as e:
    print("probe failed:", e, file=sys.stderr)
req = b"GET /api/v1/health_check HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000
end = time.monotonic() + secs
i = 0
while time.monotonic() < end and open_socks:
    for s in open_socks:
        try:
            s.send(req[i:i + 1])
        except OSError:
            pass
    i = min(i + 1, len(req) - 1)
    time.sleep(1)
    open_socks = [s for s in open_socks if alive(s)]
print("open_after_connect=%d probe=%d open_at_end=%d" % (after_connect, code, len(open_socks)))
PY

# --- 1. per-address cap, header deadline, probe from another address -----------------------
start_limited --header-timeout-s 4 --max-connections-per-ip 64
grep -q "serving at most" "$WORK/coord.log" || fail "no warning that max_connections was lowered to fit 1024 files"
out=$(python3 "$WORK/slow.py" "$PORT" 1100 20)
echo "$out"
after=$(sed -n 's/.*open_after_connect=\([0-9]*\).*/\1/p' <<<"$out")
probe=$(sed -n 's/.*probe=\([0-9]*\).*/\1/p' <<<"$out")
atend=$(sed -n 's/.*open_at_end=\([0-9]*\).*/\1/p' <<<"$out")
[ "$probe" = 200 ] || fail "health_check from 127.0.0.1 during the flood: got '$probe', expected 200"
[ "$after" -le 64 ] || fail "$after connections from one address stayed open (max_connections_per_ip = 64)"
[ "$after" -ge 32 ] || fail "only $after connections from 127.0.0.2 were served (expected about 64)"
[ "$atend" = 0 ] || fail "$atend connections still open after 20 s of a dribbled header (header_timeout_s = 4)"
grep -q "sent no complete request header" "$WORK/coord.log" || fail "no log line for the header deadline"
! grep -qi "too many open files" "$WORK/coord.log" || fail "the coordinator ran out of file descriptors"
ok "1,100 slow connections from 127.0.0.2: $after served, the rest closed at once; all closed at the header deadline; probe 200"
kill -TERM "$COORD_PID"; wait "$COORD_PID" || true; COORD_PID=

# --- 2. the global cap closes new connections at once --------------------------------------
start_limited --max-connections 20 --max-connections-per-ip 0 --header-timeout-s 30
out=$(python3 "$WORK/slow.py" "$PORT" 40 0)
after=$(sed -n 's/.*open_after_connect=\([0-9]*\).*/\1/p' <<<"$out")
[ "$after" -le 20 ] || fail "$after connections open with max_connections = 20 (the excess was queued, not refused)"
[ "$after" -ge 10 ] || fail "only $after of 40 connections served with max_connections = 20"
grep -q "refused .* new connection" "$WORK/coord.log" || fail "no log line for refused connections"
ok "max_connections 20: $after of 40 served, the rest closed at once"
kill -TERM "$COORD_PID"; wait "$COORD_PID" || true; COORD_PID=

# --- 3. a kept-alive connection gets request_timeout_s + header_timeout_s for its next header -
start_limited --header-timeout-s 2 --request-timeout-s 2
python3 - "$PORT" <<'PY' || fail "a dribbled second request on a kept-alive connection was not cut off"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /api/v1/health_check HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
got = b""
while b"ok" not in got:
    got += s.recv(4096)
assert got.startswith(b"HTTP/1.1 200"), got[:40]
s.settimeout(0.5)
end = time.monotonic() + 20  # a byte every 0.5 s: never idle for the 2 s idle timeout
for b in b"GET /api/v1/health_check HTTP/1.1\r\nX-Slow: " + b"a" * 100:
    if time.monotonic() > end:
        sys.exit(1)
    try:
        s.send(bytes([b]))
        d = s.recv(4096)
        if d == b"" or d.startswith(b"HTTP/1.1 408"):
            sys.exit(0)  # answered 408 and closed by the coordinator
    except socket.timeout:
        pass
    except OSError:
        sys.exit(0)
sys.exit(1)
PY
ok "kept-alive connection dribbling its next header: closed"
kill -TERM "$COORD_PID"; wait "$COORD_PID" || true; COORD_PID=

# --- 4. an explicit max_connections that cannot fit the open-file limit refuses to start ----
rc=0
(ulimit -n 1024 && exec "$COORD" --listen "127.0.0.1:$(free_port)" --state-dir "$WORK/state" \
    --max-connections 4096) >"$WORK/start.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "started with max_connections = 4096 under ulimit -n 1024"
grep -q "max_connections = 4096 needs .* refusing to start" "$WORK/start.log" ||
    fail "unclear refusal: $(cat "$WORK/start.log")"
ok "explicit max_connections over the open-file limit: $(grep -o 'refusing to start.*' "$WORK/start.log" | head -c 80)..."
grep -q '^LimitNOFILE=[0-9]' "$SRC/systemd/gprof-coordinator.service" || fail "the unit sets no LimitNOFILE="
echo "PASS"
