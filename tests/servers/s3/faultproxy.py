#!/usr/bin/env python3
"""faultproxy.py — an HTTP proxy for the S3 engine's fault tests: forwards every request as it
came (headers untouched, so SigV4 signatures still verify) to UPSTREAM and, when told, answers
instead with an error or breaks the connection.

Usage: faultproxy.py UPSTREAM_URL PORTFILE   (listens on 127.0.0.1, a free port, written to PORTFILE)
Control (requests to the proxy itself):
  POST /__fault/set?mode=M&n=N  the next N requests (n=-1: all, until reset) get fault M:
        500, 503 (S3 SlowDown), 429, 400 (not retryable) -> that status with an S3 error body;
        drop -> forwarded, then the upstream answer's head and half its body and the connection
                closed (an answer without a body: closed without an answer);
        reset -> the connection is closed without an answer
  POST /__fault/clear           no faults
  GET  /__fault/stats           JSON {"requests": forwarded or faulted requests, "faults": n}
"""
import http.client
import http.server
import json
import socket
import sys
import threading
import urllib.parse

UP = urllib.parse.urlsplit(sys.argv[1])
lock = threading.Lock()
state = {"mode": None, "n": 0, "requests": 0, "faults": 0}
ERRORS = {500: "InternalError", 503: "SlowDown", 429: "SlowDown", 400: "InvalidRequest"}


def take_fault():
    with lock:
        state["requests"] += 1
        if state["mode"] is None or state["n"] == 0:
            return None
        if state["n"] > 0:
            state["n"] -= 1
        state["faults"] += 1
        return state["mode"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def control(self):
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        cmd = urllib.parse.urlsplit(self.path).path[len("/__fault/"):]
        with lock:
            if cmd == "set":
                state["mode"], state["n"] = q["mode"], int(q.get("n", "-1"))
            elif cmd == "clear":
                state["mode"], state["n"] = None, 0
            body = json.dumps({"requests": state["requests"], "faults": state["faults"]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        if self.path.startswith("/__fault/"):
            return self.control()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        fault = take_fault()
        if fault == "reset":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault and fault.isdigit():
            code = int(fault)
            err = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
                   "<Message>injected by faultproxy</Message></Error>" % ERRORS.get(code, "Error")).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(err)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(err)
            return
        up = http.client.HTTPConnection(UP.hostname, UP.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        up.request(self.command, self.path, body=body if n else None, headers=headers)
        r = up.getresponse()
        data = r.read()
        up.close()
        if fault == "drop" and (not data or self.command == "HEAD"):
            # forwarded (a PUT is stored), but the answer is lost
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "date", "server"):
                self.send_header(k, v)
        length = int(r.getheader("Content-Length") or len(data)) if self.command == "HEAD" else len(data)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault == "drop":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os  # noqa: E402

os.rename(sys.argv[2] + ".tmp", sys.argv[2])
srv.serve_forever()
