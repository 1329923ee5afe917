#!/bin/bash
# test_units_sandbox.sh — the agent samples under the hardening of the shipped gprof-agent.service
# as far as it can be applied without systemd as PID 1 (units_sandbox.py: capability bounding set
# without CAP_SYS_ADMIN, NoNewPrivileges, MemoryDenyWriteExecute, the SystemCallFilter and
# RestrictAddressFamilies as a seccomp filter, ProtectSystem=strict/ProtectHome=read-only as a
# read-only mount namespace): continuous sessions with user and kernel frames reach the coordinator.
set -euo pipefail
. "$(dirname "$0")/lib.sh" # count_matching, total_samples
. "$(dirname "$0")/agent_lib.sh"
python3 -c 'import ctypes; ctypes.CDLL("libseccomp.so.2"); ctypes.CDLL("libcap.so.2")' 2>/dev/null ||
    fail "libseccomp2 / libcap2 missing"

STATE=$WORK/state
start_coord "$STATE"
mkdir -p "$ASTATE"
# Sanitized (GPROF_BIN_DIR): the agent of build-asan/, SAN_LOG writable for its reports, and no
# leak check: LeakSanitizer stops the threads with ptrace at exit, which the unit's sandbox
# refuses ("Could not attach to thread (errno 1)"); ASan and UBSan still check every access here,
# and the other agent tests check the same code for leaks outside the sandbox.
cat >"$WORK/sandboxed-agent" <<SH
#!/bin/sh
${SAN_LOG:+ASAN_OPTIONS="\$ASAN_OPTIONS:detect_leaks=0" && export ASAN_OPTIONS}
exec python3 "$SRC/tests/integration/units_sandbox.py" --rw "$WORK" ${SAN_LOG:+--rw "$SAN_LOG"} \
    "$SRC/systemd/gprof-agent.service" -- "$BIN/agent/gprof-agent" "\$@"
SH
chmod +x "$WORK/sandboxed-agent"
AGENT=$WORK/sandboxed-agent
burn 120
# kernel frames: a user-space burner gives few (its cpu-clock samples carry no kernel stack), and
# on an idle machine 35 samples of one session may hold none; one byte a read and a write keeps
# a process in system calls (dd itself in BG_PIDS: agent_cleanup kills it)
dd if=/dev/zero of=/dev/null bs=1 count=100000000 >/dev/null 2>&1 & # ~1-3 min at most
BG_PIDS+=($!)
start_agent --token SECRETTOKEN123
grep -q 'units_sandbox: ProtectSystem=strict.*CapabilityBoundingSet=.*NoNewPrivileges; MemoryDenyWriteExecute; SystemCallFilter.*RestrictAddressFamilies' \
    "$WORK/agent.log" || fail "the sandbox was not fully applied: $(head -3 "$WORK/agent.log")"
caps=$(grep CapEff "/proc/$AGENT_PID/status" | cut -f2)
[ $((0x$caps & (1 << 21))) = 0 ] || fail "the agent has CAP_SYS_ADMIN ($caps)"
ok "agent running sandboxed, CapEff=$caps ($(capsh --decode="$caps" | cut -d= -f2))"

wait_for 40 '[ "$(local_sessions)" -ge 2 ]' || fail "fewer than 2 sessions under the sandbox"
f=$(ls "$ASTATE"/results/profile_*.col | head -1)
[ "$(total_samples "$f")" -gt 0 ] || fail "no samples under the sandbox"
[ "$(count_matching "$f" 'burn')" -gt 0 ] || fail "no frames of the burn workload"
[ "$(count_matching "$f" '[a-z_]+_\[k\]')" -gt 0 ] || fail "no symbolized kernel frames (CAP_SYSLOG?)"
ok "sessions under the sandbox: $(total_samples "$f") samples, user and kernel frames symbolized"
wait_for 30 '[ "$(coord_continuous)" -ge 1 ]' || fail "nothing reached the coordinator (AF_INET?)"
ok "uploads reach the coordinator from the sandbox"
! grep -v '^units_sandbox:' "$WORK/agent.log" | grep -qiE 'operation not permitted|bad system call|EPERM' ||
    fail "something was refused: $(grep -iE 'operation not permitted|bad system call|EPERM' "$WORK/agent.log" | head -3)"
stop_agent TERM
[ "$AGENT_RC" = 0 ] || fail "sandboxed agent exited with $AGENT_RC"
ok "clean exit under the sandbox"
