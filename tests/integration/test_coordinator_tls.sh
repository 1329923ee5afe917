#!/bin/bash
# test_coordinator_tls.sh — the coordinator on HTTPS with a test CA: curl trusts it with the CA
# and not without; SIGHUP swaps the certificate (a new connection sees the new serial) while a
# kept-alive connection opened before goes on; a broken certificate on reload keeps the old one;
# plaintext on a non-loopback address starts only with allow_plaintext = on; gprofctl works
# with --ca-file, refuses a wrong CA with a message saying what to do, works with --no-verify
# and warns.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"
. "$(dirname "$0")/tls_lib.sh"
GPROFCTL=$BIN/cli/gprofctl

make_server srv1 ca 4097
make_server srv2 ca 4098
make_server other wrongca 4099
cp "$PKI/srv1.pem" "$WORK/cert.pem"
cp "$PKI/srv1.key" "$WORK/key.pem"
start_coord_tls "$WORK/state" "$WORK/cert.pem" "$WORK/key.pem"
grep -q "listening on https://" "$WORK/coord.log" || fail "the log does not say https"

# --- the handshake is verified against the CA ------------------------------------------------
expect_status 200 ok "$H/api/v1/health_check"
got=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$WRONG_CA" "$H/api/v1/health_check" || true)
[ "$got" = 000 ] || fail "curl with the wrong CA got HTTP $got"
got=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/health_check" || true)
[ "$got" != 200 ] || fail "plain HTTP answered 200 on the HTTPS port"
ok "HTTPS answers with the test CA, not with another CA, not in plain HTTP"

# --- SIGHUP swaps the certificate; a connection opened before keeps working --------------------
[ "$(serial_seen)" = 1001 ] || fail "first serial $(serial_seen), expected 1001 (4097)"
python3 - "$PORT" "$CA" "$COORD_PID" "$PKI" "$WORK" >"$WORK/keepalive.out" 2>&1 <<'PY' ||
import http.client, os, shutil, signal, ssl, sys, time
port, ca, pid, pki, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=10)
c.request("GET", "/api/v1/health_check"); r = c.getresponse(); r.read()
assert r.status == 200, r.status
shutil.copy(pki + "/srv2.pem", work + "/cert.pem")
shutil.copy(pki + "/srv2.key", work + "/key.pem")
os.kill(pid, signal.SIGHUP)
for _ in range(100):  # the reload is logged once done
    if "TLS certificate reloaded" in open(work + "/coord.log").read():
        break
    time.sleep(0.05)
c.request("GET", "/api/v1/health_check"); r = c.getresponse(); r.read()
assert r.status == 200, r.status
print("same connection after reload: 200")
PY
    fail "kept-alive connection across SIGHUP: $(cat "$WORK/keepalive.out")"
[ "$(serial_seen)" = 1002 ] || fail "after SIGHUP a new connection sees serial $(serial_seen), expected 1002"
expect_status 200 ok "$H/api/v1/health_check"
ok "SIGHUP: new connections get the new certificate, an open one is not dropped"

printf 'not a certificate\n' >"$WORK/cert.pem"
kill -HUP "$COORD_PID"
for _ in $(seq 1 100); do grep -q "NOT reloaded" "$WORK/coord.log" && break; sleep 0.05; done
grep -q "NOT reloaded.*tls_cert $WORK/cert.pem" "$WORK/coord.log" || fail "a broken reload is not reported"
[ "$(serial_seen)" = 1002 ] || fail "a broken certificate replaced the good one"
ok "a broken certificate on SIGHUP is reported and the old one stays"

# --- gprofctl ---------------------------------------------------------------------------------
"$GPROFCTL" hosts --coordinator "$H" --ca-file "$CA" >"$WORK/g1" 2>&1 ||
    fail "gprofctl with --ca-file: $(cat "$WORK/g1")"
GPROF_CA_FILE=$CA "$GPROFCTL" hosts --coordinator "$H" >"$WORK/g1" 2>&1 ||
    fail "gprofctl with GPROF_CA_FILE: $(cat "$WORK/g1")"
if "$GPROFCTL" hosts --coordinator "$H" --ca-file "$WRONG_CA" >"$WORK/g2" 2>&1; then
    fail "gprofctl trusted a certificate of another CA"
fi
grep -q "certificate is not trusted by $WRONG_CA.*--ca-file" "$WORK/g2" || fail "unclear refusal: $(cat "$WORK/g2")"
if "$GPROFCTL" hosts --coordinator "$H" >"$WORK/g3" 2>&1; then
    fail "gprofctl trusted the test CA from the system store"
fi
grep -q "not trusted by the system CA store" "$WORK/g3" || fail "unclear refusal: $(cat "$WORK/g3")"
"$GPROFCTL" hosts --coordinator "$H" --no-verify >"$WORK/g4" 2>&1 || fail "--no-verify: $(cat "$WORK/g4")"
grep -q "NOT VERIFIED" "$WORK/g4" || fail "--no-verify without a warning: $(cat "$WORK/g4")"
ok "gprofctl: --ca-file works, a wrong CA is refused clearly, --no-verify works and warns"
stop_coord

# --- startup errors ---------------------------------------------------------------------------
P2=$(free_port)
if "$COORD" --listen 0.0.0.0:"$P2" --state-dir "$WORK/s2" --ui-token t >"$WORK/e1" 2>&1; then
    fail "plain HTTP on 0.0.0.0 started"
fi
grep -q "without TLS.*allow_plaintext = on" "$WORK/e1" || fail "unclear error: $(cat "$WORK/e1")"
if "$COORD" --listen "[::]:$P2" --state-dir "$WORK/s2" --ui-token t >"$WORK/e1" 2>&1; then
    fail "plain HTTP on [::] started"
fi
grep -q "allow_plaintext" "$WORK/e1" || fail "unclear error: $(cat "$WORK/e1")"
# With allow_plaintext the check passes: the port is taken (by a coordinator on 127.0.0.1), so
# it stops at the bind without ever listening on other addresses.
PORT=$P2 start_coord "$WORK/s3"
if "$COORD" --listen 0.0.0.0:"$P2" --state-dir "$WORK/s2" --ui-token t --allow-plaintext on \
    >"$WORK/e2" 2>&1; then
    fail "expected the bind to fail"
fi
grep -q "cannot listen on 0.0.0.0:$P2" "$WORK/e2" || fail "allow_plaintext did not pass the check: $(cat "$WORK/e2")"
stop_coord
if "$COORD" --listen 127.0.0.1:0 --state-dir "$WORK/s2" --tls-cert "$PKI/srv1.pem" >"$WORK/e3" 2>&1; then
    fail "tls_cert without tls_key started"
fi
grep -q "tls_key is missing" "$WORK/e3" || fail "unclear error: $(cat "$WORK/e3")"
if "$COORD" --listen 127.0.0.1:0 --state-dir "$WORK/s2" --tls-cert "$PKI/srv1.pem" \
    --tls-key "$PKI/srv2.key" >"$WORK/e3" 2>&1; then
    fail "a key of another certificate was accepted"
fi
grep -q "does not belong to the first certificate" "$WORK/e3" || fail "unclear error: $(cat "$WORK/e3")"
ok "plaintext off loopback needs allow_plaintext; a missing or mismatched key is refused"
