#!/bin/bash
# test_agent_unwind_shared.sh — issue 13: one unwind registry for the agent. The continuous
# profile (host-wide, lazy tables) and an ad hoc `gprofctl start --pid` on the same no-FP process
# run at once and both unwind it to main, and the ad hoc session builds none of the tables the
# continuous one already built: its header's gprof.unwind.session_tables_built is at most the
# binaries of the process that the continuous session had no reason to build yet (e.g. ld.so,
# where no sample lands), never the executable, its no-FP library or libc. Afterwards the
# continuous profile still unwinds (the ad hoc session's end dropped only its own references).
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"
[ -x "$WL/nofp_chain" ] || fail "$WL/nofp_chain not built"

"$WL/nofp_chain" 120 >"$WORK/wl.out" &
W=$!
BG_PIDS+=("$W")
wait_for 5 'grep -q ready "$WORK/wl.out"' || fail "nofp_chain did not start"
start_agent -F 99

# the share of nofp_chain's samples in FILE whose stack reaches main through the whole chain
reach() {
    python3 - "$1" <<'PY'
import sys
tot = hit = 0
for line in open(sys.argv[1]):
    if line.startswith("# ") or not line.strip():
        continue
    stack, _, n = line.rstrip("\n").rpartition(" ")
    if ";nofp_chain;" not in ";" + stack + ";":
        continue
    tot += int(n)
    if ";main;chain_a;chain_b;chain_c;nofp_lib_d;nofp_lib_hot" in stack:
        hit += int(n)
print("%d %d" % (hit, tot))
PY
}

# the continuous session has walked nofp_chain through its no-FP library (lazy: that table was
# built on a miss) in a finished session
cont_ok() {
    local f h t
    for f in $(ls -t "$ASTATE"/results/profile_*.col 2>/dev/null | head -3); do
        read -r h t < <(reach "$f")
        [ "$t" -ge 20 ] && [ $((h * 100)) -ge $((t * 95)) ] && return 0
    done
    return 1
}
wait_for 40 cont_ok || fail "no continuous session unwound nofp_chain to main: $(ls "$ASTATE"/results)"
ok "the continuous profile unwinds nofp_chain to main"

"$GPROFCTL" start --pid "$W" -d 4 -F 199 >"$WORK/start.out" 2>"$WORK/start.err" ||
    fail "gprofctl start failed: $(cat "$WORK/start.err")"
HTML=$(sed -n 's/^flame graph: //p' "$WORK/start.out")
COL=${HTML%.html}.col
[ -f "$COL" ] || fail "no collapsed result beside $HTML"
read -r h t < <(reach "$COL")
[ "$t" -ge 50 ] || fail "ad hoc: only $t samples of nofp_chain"
[ $((h * 100)) -ge $((t * 95)) ] || fail "ad hoc: $h of $t samples reach main"
ok "the ad hoc session unwinds nofp_chain to main beside the continuous one ($h of $t samples)"

# executable file mappings of the process: what an unshared --pid session builds at note
NBIN=$(awk '$2 ~ /x/ && $6 ~ /^\// { print $6 }' /proc/"$W"/maps | sort -u | wc -l)
python3 - "$COL" "$NBIN" <<'PY' || fail "ad hoc header"
import json, sys
g = json.loads(open(sys.argv[1]).readline()[2:])["gprof"]
u = g["unwind"]
nbin = int(sys.argv[2])
print("ad hoc gprof.unwind: sessions %d, session_tables_built %d (of %d binaries mapped), "
      "registry tables_built %d, tables %d, session_processes %d"
      % (u["sessions"], u["session_tables_built"], nbin, u["tables_built"], u["tables"],
         u["session_processes"]))
assert g["sampler"] == "bpf", g["sampler"]
assert u["sessions"] == 3, "the agent, the continuous and the ad hoc session share it: %d" % u["sessions"]
# the executable, libnofpchain and libc were built by the continuous session
assert u["session_tables_built"] <= nbin - 3, "the ad hoc session rebuilt shared tables"
assert u["session_processes"] == 1, u["session_processes"]
assert u["tables_built"] > u["session_tables_built"]
PY
ok "the ad hoc session built none of the continuous session's tables"

# the continuous profile goes on unwinding after the ad hoc session dropped its references
N0=$(local_sessions)
wait_for 30 '[ "$(local_sessions)" -ge $((N0 + 3)) ]' || fail "no continuous sessions after the ad hoc one"
h=0 t=0
for F in $(ls -t "$ASTATE"/results/profile_*.col | head -2); do # the two sessions after it
    read -r h1 t1 < <(reach "$F")
    h=$((h + h1)) t=$((t + t1))
done
[ "$t" -ge 20 ] && [ $((h * 100)) -ge $((t * 95)) ] || fail "continuous after ad hoc: $h of $t reach main"
python3 - "$F" <<'PY' || fail "continuous header"
import json, sys
u = json.loads(open(sys.argv[1]).readline()[2:])["gprof"]["unwind"]
assert u["sessions"] == 2, u["sessions"]
PY
ok "the continuous profile still unwinds after the ad hoc session ended ($h of $t)"
stop_agent TERM
[ "$AGENT_RC" = 0 ] || fail "agent exit status $AGENT_RC"
