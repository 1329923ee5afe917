# unwind_lib.sh — helpers sourced by tests/integration/test_unwind_*.sh (issue 13): profile one
# process side by side with `perf record --call-graph dwarf` (the oracle: it unwinds a copy of the
# user stack with the binaries' CFI) and `gprofctl record` with each sampler, all at once, then
# compare the shares of samples whose stacks match a pattern.
. "$(dirname "$0")/lib.sh"
need_root
command -v perf > /dev/null || fail "perf is not installed: scripts/install-deps.sh installs linux-perf"
UW_SAMPLERS=${GPROF_UW_SAMPLERS:-bpf perf} # both by default; one to look at a single sampler
UW_FREQ=${GPROF_UW_FREQ:-999}
UW_PERF_STACK=8192 # bytes of user stack perf copies per sample (its default); a test may raise it
UW_FAILS=() # every mismatch, reported together at the end
tmp=$(mktemp -d)
UW_PIDS=()
uw_cleanup() {
  for p in "${UW_PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$tmp"
}
trap uw_cleanup EXIT

# uw_norm IN OUT — one format for both profilers: `comm;root;...;leaf count` (gprof's collapsed
# lines lose their header and leading app/container fields; perf's folded lines are already so).
uw_norm() {
  awk '/^# / { next } NF { if (gp) sub(/^[^;]*;[^;]*;/, ""); print }' gp="$3" "$1" > "$2"
}

# uw_record LABEL PID SECONDS — perf --call-graph dwarf and gprofctl record (each sampler of
# UW_SAMPLERS) on PID at once; leaves $tmp/LABEL.oracle and $tmp/LABEL.<sampler> (normalized).
uw_record() {
  local label=$1 pid=$2 secs=$3 s pids=()
  perf record -q --call-graph "dwarf,$UW_PERF_STACK" -F "$UW_FREQ" -p "$pid" -o "$tmp/$label.oracle.data" -- sleep "$secs" \
    > "$tmp/$label.oracle.err" 2>&1 &
  pids+=($!)
  for s in $UW_SAMPLERS; do
    "$GPROFCTL" record -q --sampler "$s" --pid "$pid" -d "$secs" -F "$UW_FREQ" -o "$tmp/$label.$s.col" \
      > /dev/null 2> "$tmp/$label.$s.err" &
    pids+=($!)
  done
  local rc=0 i=0
  for p in "${pids[@]}"; do
    wait "$p" || rc=$?
    if [ $rc != 0 ]; then
      if [ $i = 0 ]; then cat "$tmp/$label.oracle.err" >&2; fail "$label: perf record failed (exit $rc)"; fi
      s=$(echo $UW_SAMPLERS | cut -d' ' -f$i)
      cat "$tmp/$label.$s.err" >&2
      if [ "$s" = bpf ] && grep -qi 'bpf' "$tmp/$label.$s.err"; then skip "BPF sampler cannot load"; fi
      fail "$label: gprofctl record --sampler $s failed"
    fi
    i=$((i + 1))
  done
  perf script --no-inline -i "$tmp/$label.oracle.data" 2> /dev/null | awk -f "$SRC/bench/collapse-perf.awk" > "$tmp/$label.folded"
  rm -f "$tmp/$label.oracle.data" # ~100 MB at 16 KiB a sample
  uw_norm "$tmp/$label.folded" "$tmp/$label.oracle" ""
  for s in $UW_SAMPLERS; do uw_norm "$tmp/$label.$s.col" "$tmp/$label.$s" 1; done
}

# uw_share FILE ERE — percentage (one decimal) of FILE's samples whose stack matches ERE
uw_share() { pct "$(count_matching "$1" "$2")" "$(total_samples "$1")"; }
# uw_near A B TOLERANCE — |A - B| <= TOLERANCE
uw_near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
uw_ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

# uw_top FILE — the 3 most frequent stacks, to show what a failing profile looks like
uw_top() { sort -t' ' -k2 -nr "$1" 2> /dev/null | awk 'NR <= 3 { print "      " substr($0, 1, 220) }' || true; }

# uw_gprof_fail MESSAGE — records a mismatch of gprof's (the test fails at the end, listing all)
uw_gprof_fail() {
  echo "  MISMATCH: $*"
  UW_FAILS+=("$*")
}

# uw_finish — fails listing every mismatch, else passes
uw_finish() {
  if [ ${#UW_FAILS[@]} -gt 0 ]; then
    echo "---- ${#UW_FAILS[@]} mismatches:" >&2
    printf '  %s\n' "${UW_FAILS[@]}" >&2
    fail "${#UW_FAILS[@]} stack shares of gprof differ from the construction or from perf"
  fi
  echo "PASS"
}

# uw_wait_ready FILE — waits (up to 5 s) for a workload's "ready" line
uw_wait_ready() {
  for _ in $(seq 50); do
    grep -q '^ready' "$1" && return 0
    sleep 0.1
  done
  fail "$1: the workload did not start"
}
