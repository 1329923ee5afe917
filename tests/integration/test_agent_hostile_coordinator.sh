#!/usr/bin/env bash
# Regression (issue 10 #6): a malicious or intercepted coordinator answers the root agent's
# heartbeat with 60 MB (a JSON array; once parsed, gigabytes). The real agent refuses the reply
# after 1 MiB with a clear log line, keeps running, and its memory stays small.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"

PORT=$(free_port)
cat > "$WORK/evil.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()  # no Content-Length: the agent only sees the size while reading
        chunk = b"1," * 32768
        try:
            self.wfile.write(b"[")
            for _ in range((60 << 20) // len(chunk)):
                self.wfile.write(chunk)
            self.wfile.write(b"1]")
        except (BrokenPipeError, ConnectionResetError):
            pass
    do_GET = do_POST
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$WORK/evil.py" "$PORT" &
BG_PIDS+=("$!")
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
H=http://127.0.0.1:$PORT
start_agent
wait_for 20 "grep -q 'larger than the 1048576 bytes allowed' '$WORK/agent.log'" \
  || fail "the agent did not refuse the 60 MB heartbeat reply: $(tail -3 "$WORK/agent.log")"
sleep 2 # a second heartbeat, after the backoff
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT_PID/status")
echo "agent peak RSS: $hwm kB; $(grep -c 'larger than the' "$WORK/agent.log") replies refused"
kill -0 "$AGENT_PID" || fail "the agent died"
[ "$hwm" -lt 262144 ] || fail "the agent grew to $hwm kB"
stop_agent
[ "$AGENT_RC" = 0 ] || fail "agent exited $AGENT_RC"
ok "a 60 MB heartbeat reply is refused, the agent stays at $hwm kB"
echo PASS
