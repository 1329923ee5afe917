#!/bin/bash
# test_install_demo.sh — getting the tools on PATH (issue 11): `cmake --install` puts gprof-agent,
# gprof-coordinator and gprofctl under the prefix and they run; scripts/demo.sh takes its port and
# directory from flags or GPROF_DEMO_PORT / GPROF_DEMO_DIR (documented in --help), and its --stop
# never kills a process its pid files name unless it is the demo's own binary.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

# --- cmake --install ---------------------------------------------------------------------------
cmake --install "$BUILD" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1 ||
    fail "cmake --install failed: $(tail -5 "$WORK/install.log")"
for b in sbin/gprof-agent bin/gprof-coordinator bin/gprofctl; do
    [ -x "$WORK/prefix/$b" ] || fail "cmake --install did not install $b: $(cat "$WORK/install.log")"
done
"$WORK/prefix/bin/gprofctl" --version | grep -q "^gprofctl " || fail "installed gprofctl does not run"
"$WORK/prefix/bin/gprof-coordinator" --help >/dev/null 2>&1 || fail "installed gprof-coordinator does not run"
ok "cmake --install puts gprof-agent (sbin), gprof-coordinator and gprofctl (bin) under the prefix"

# --- demo.sh options ------------------------------------------------------------------------------
DEMO=$SRC/scripts/demo.sh
help=$(bash "$DEMO" --help)
for w in --port --dir GPROF_DEMO_PORT GPROF_DEMO_DIR --stop; do
    grep -q -- "$w" <<<"$help" || fail "demo.sh --help does not mention $w: $help"
done
rc=0
out=$(GPROF_DEMO_DIR=$WORK/d0 bash "$DEMO" --port notaport --stop 2>&1) || rc=$?
[ "$rc" = 2 ] && echo "$out" | grep -q "not a number" || fail "demo.sh --port notaport (rc $rc): $out"
ok "demo.sh documents --port/--dir and GPROF_DEMO_PORT/GPROF_DEMO_DIR and checks the port"

# --- --stop kills only its own processes -------------------------------------------------------------
sleep 300 &
OTHER=$!
D=$WORK/demo
mkdir -p "$D"
echo "$OTHER" >"$D/agent.pid"
echo "$OTHER" >"$D/coordinator.pid"
out=$(bash "$DEMO" --stop --dir "$D" 2>&1) || fail "demo.sh --stop failed: $out"
kill -0 "$OTHER" 2>/dev/null || fail "demo.sh --stop killed an unrelated process (pid $OTHER)"
echo "$out" | grep -q "not this demo's gprof-agent; left alone" || fail "no word about the foreign pid: $out"
[ ! -e "$D/agent.pid" ] && [ ! -e "$D/coordinator.pid" ] || fail "stale pid files kept"
# the same through GPROF_DEMO_DIR
echo "$OTHER" >"$D/coordinator.pid"
GPROF_DEMO_DIR=$D bash "$DEMO" --stop >/dev/null 2>&1 || fail "demo.sh --stop with GPROF_DEMO_DIR failed"
kill -0 "$OTHER" 2>/dev/null || fail "demo.sh --stop (GPROF_DEMO_DIR) killed an unrelated process"
kill "$OTHER"
ok "demo.sh --stop leaves alone a process its pid files name that is not its own"

# its own coordinator (the binary demo.sh starts: <source>/build/coordinator/gprof-coordinator)
if [ "$(cd "$BUILD" && pwd)" = "$(cd "$SRC" && pwd)/build" ]; then
    PORT=$(free_port)
    "$BUILD/coordinator/gprof-coordinator" --listen "127.0.0.1:$PORT" --state-dir "$D/coordinator" \
        >"$WORK/demo-coord.log" 2>&1 &
    MINE=$!
    COORD_PID=$MINE # cleaned up on failure
    echo "$MINE" >"$D/coordinator.pid"
    out=$(bash "$DEMO" --stop --dir "$D" 2>&1) || fail "demo.sh --stop failed: $out"
    echo "$out" | grep -q "stopped gprof-coordinator (pid $MINE)" || fail "its own coordinator not stopped: $out"
    for _ in $(seq 50); do kill -0 "$MINE" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$MINE" 2>/dev/null || fail "demo's coordinator still runs after --stop"
    COORD_PID=
    ok "demo.sh --stop ends its own coordinator"
else
    echo "note: build dir is not <source>/build; the demo's own-process stop is not exercised"
fi
