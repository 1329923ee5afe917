#!/usr/bin/env bash
# Issue 13: whole user stacks of code built without frame pointers, walked in BPF through the
# .eh_frame unwind tables. nofp_chain (-O2 -fomit-frame-pointer) spends its time in
# main -> chain_a -> chain_b -> chain_c -> nofp_lib_d -> nofp_lib_hot (the last two in a no-FP
# library): `gprofctl record` with the BPF sampler, by --pid and host-wide, must bring >= 95% of
# its samples down to main through that chain, and report the walks in gprof.unwind.
# (A frame-pointer walk stops after the leaf: 0% reached main before.)
# Host-wide the tables are lazy: the no-FP library's table is built on the first miss in it, for
# a process running before the record and for one started during it (its first samples must
# still unwind); with the default (auto) the scan at the start takes only the processes on CPU.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

check() { # FILE LABEL [LAZY: lazy | eager]
  local f=$tmp/$2.nofp
  grep -E '^0;[^;]*;nofp_chain;' "$1" > "$f" || true
  local total main chain
  total=$(total_samples "$f")
  main=$(count_matching "$f" ';main(;| )')
  chain=$(count_matching "$f" ';main;chain_a;chain_b;chain_c;nofp_lib_d;nofp_lib_hot(;| )')
  echo "$2: $total samples of nofp_chain, $main reach main ($(pct "$main" "$total")%), $chain through the whole chain"
  [ "$total" -ge "${MIN_SAMPLES:-100}" ] || fail "$2: only $total samples of nofp_chain"
  local min=${MIN_MAIN:-95}
  [ $((main * 100)) -ge $((total * min)) ] || { sort -t' ' -k2 -rn "$f" | head -5; fail "$2: fewer than $min% of samples reach main"; }
  [ $((chain * 100)) -ge $((total * 80)) ] || fail "$2: the call chain is missing from most samples"
  python3 - "$1" "$2" "${3:-}" <<'PY'
import json, sys
line = open(sys.argv[1]).readline()
assert line.startswith("# "), "no header"
g = json.loads(line[2:])["gprof"]
u = g.get("unwind")
assert g["sampler"] == "bpf", "sampler %s" % g["sampler"]
assert u, "no gprof.unwind in the header"
print("%s: gprof.unwind %s" % (sys.argv[2], json.dumps(u, sort_keys=True)))
assert u["walks"]["end"] > 0 and u["frames"] > 0 and u["tables"] > 0 and u["kernel_bytes"] > 0
assert set(u["walks"]) == {"end", "no_table", "unknown_rule", "read_error", "depth_limit"}
assert u["tables_built"] == u["built_at_note"] + u["built_on_miss"], "lazy counters disagree"
lazy = sys.argv[3] if len(sys.argv) > 3 else ""
if lazy == "lazy":
    # libnofp_lib.so is neither the executable nor libc: built on a miss, from a report
    assert u["built_on_miss"] >= 1 and u["misses"] >= u["built_on_miss"], "no table built on a miss"
elif lazy == "eager":
    assert u["built_on_miss"] == 0 and u["mappings_pending"] == 0, "eager was lazy"
elif lazy == "auto":
    import os
    nhost = int(os.environ["NHOST"])
    assert u["built_at_note"] >= 1, "auto built nothing at note"
    assert u["processes"] * 2 < nhost, "auto noted %d of the host's %d processes" % (u["processes"], nhost)
PY
}

"$WL/nofp_chain" 40 > "$tmp/wl.out" &
wpid=$!
for _ in $(seq 50); do grep -q ready "$tmp/wl.out" && break; sleep 0.1; done

if ! "$GPROFCTL" record -q --sampler bpf --pid $wpid -d 5 -F 199 -o "$tmp/pid.col" 2> "$tmp/err"; then
  cat "$tmp/err" >&2
  grep -qi 'bpf' "$tmp/err" && skip "BPF sampler cannot load"
  fail "record --pid failed"
fi
check "$tmp/pid.col" pid

"$GPROFCTL" record -q --sampler bpf --unwind-tables lazy -d 5 -F 199 -o "$tmp/host.col" 2> "$tmp/err" \
  || { cat "$tmp/err" >&2; fail "host-wide record failed"; }
check "$tmp/host.col" host lazy

# Host-wide lazy while new binaries keep starting (a build host: compilers exec'd all the time,
# each a binary no table exists for): copies of cc1 without a build-id, so each is a binary of its
# own whose table (~480k rows) is built when it is noted. Until 2026-12-03 a miss waited on the
# one unwind thread behind those builds (and behind newer misses), so the running nofp_chain's
# library table came seconds late. Measured at load 10-14 (8 runs each): before, 55-99 % of its
# samples reached main (below 90 % in 4 of 8); after, 92-99 %. Cost: ~7 s, ~0.5 s of CPU for
# the copies' tables.
cc1=$(gcc -print-prog-name=cc1)
[ -x "$cc1" ] || fail "no cc1 (gcc) to start new binaries with"
mkdir "$tmp/storm"
for i in 1 2 3 4 5 6 7 8; do objcopy --remove-section .note.gnu.build-id "$cc1" "$tmp/storm/cc1_$i"; done
printf 'static int f%d(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * %d ^ x; return s; }\n' \
  $(for i in $(seq 100); do echo "$i $i"; done) > "$tmp/storm/w.c"
echo 'int main(void) { return f1(3) + f100(4); }' >> "$tmp/storm/w.c"
storm() { # every copy in turn, two at once, until killed
  while :; do
    for i in 1 3 5 7; do
      "$tmp/storm/cc1_$i" -quiet -O2 "$tmp/storm/w.c" -o /dev/null &
      "$tmp/storm/cc1_$((i + 1))" -quiet -O2 "$tmp/storm/w.c" -o /dev/null
      wait
    done
  done
}
"$GPROFCTL" record -q --sampler bpf --unwind-tables lazy -d 5 -F 199 -o "$tmp/storm.col" 2> "$tmp/err" &
rpid=$!
sleep 0.1
storm > /dev/null 2>&1 &
spid=$!
wait $rpid || { cat "$tmp/err" >&2; fail "host-wide record (new binaries starting) failed"; }
kill $spid; wait $spid 2> /dev/null || true
# (nofp_chain shares the CPU with the compilers here: 99-392 samples seen at load 10-14)
# The bar is 80 %, not 90: after the change the lead saw 49 % once (1 run of 5, load 7-9 with
# other builds), what is left of the delay being the ring's events read on the main thread
# behind a drain (agent/unwind/README.md); a 90 % bar would make CI flaky on a busy runner.
MIN_MAIN=80 MIN_SAMPLES=50 check "$tmp/storm.col" storm lazy

# The default (auto): the workload, on CPU at the start, has every table before its first sample;
# the host's sleeping processes are not noted until they sample, so far fewer than the host's
# processes are noted (eager, the old default, noted every one).
procs=(/proc/[0-9]*); nhost=${#procs[@]}
"$GPROFCTL" record -q --sampler bpf -d 3 -F 199 -o "$tmp/auto.col" 2> "$tmp/err" \
  || { cat "$tmp/err" >&2; fail "host-wide record (auto tables) failed"; }
NHOST=$nhost check "$tmp/auto.col" auto auto

# A process started while the host-wide record runs: noted from its first sample, its library's
# table built on its first miss; its first samples must already reach main.
kill $wpid; wait $wpid 2> /dev/null || true
"$GPROFCTL" record -q --sampler bpf --unwind-tables lazy -d 5 -F 199 -o "$tmp/new.col" 2> "$tmp/err" &
rpid=$!
sleep 1
"$WL/nofp_chain" 3 > /dev/null
wait $rpid || { cat "$tmp/err" >&2; fail "host-wide record (new process) failed"; }
check "$tmp/new.col" new lazy
