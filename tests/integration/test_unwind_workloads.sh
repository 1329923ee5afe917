#!/usr/bin/env bash
# Acceptance (issue 13): whole stacks on binaries built without frame pointers. Each workload of
# tests/workloads/wl_uw_* (-O2 -fomit-frame-pointer) runs known call paths with known shares of
# its CPU time by construction. It is profiled side by side by `perf record --call-graph dwarf`
# (the oracle: if perf does not find the construction's shares, the workload is broken, not
# gprof) and by `gprofctl record` with each sampler. For each sampler: every known path's share
# within 3 points of its construction, and >= 95% of samples reaching main.
# Registered with ctest once the unwinder exists (tests/CMakeLists.txt); before it, gprof walks
# frame pointers only and this fails, one line per path.
# env: GPROF_UW_SAMPLERS (default "bpf perf"), GPROF_UW_SECONDS (default 8), GPROF_UW_FREQ (999)
set -euo pipefail
. "$(dirname "$0")/unwind_lib.sh"
SECS=${GPROF_UW_SECONDS:-8}
TOL=3
MAIN_MIN=95
ORACLE_FAILS=()

# check_workload NAME "LABEL|ERE|SHARE" ... (the ERE may hold "|") — runs $WL/NAME, records it, checks every path
check_workload() {
  local name=$1; shift
  "$WL/$name" 0 > "$tmp/$name.out" & # until killed: perf stops early if its target exits
  local wpid=$!
  UW_PIDS+=("$wpid")
  uw_wait_ready "$tmp/$name.out"
  sleep 0.3
  uw_record "$name" "$wpid" "$SECS"
  kill "$wpid" 2> /dev/null || true
  wait "$wpid" 2> /dev/null || true
  local prof spec label ere want got n main
  for prof in oracle $UW_SAMPLERS; do
    local f="$tmp/$name.$prof" who=$prof
    [ "$prof" = oracle ] && who="perf --call-graph dwarf" || who="gprof --sampler $prof"
    n=$(total_samples "$f")
    main=$(uw_share "$f" ';main(;| )')
    echo "$name, $who: $n samples, $main% reach main"
    local bad=()
    [ "$n" -ge 300 ] || bad+=("$name, $who: only $n samples")
    uw_ge "$main" "$MAIN_MIN" || bad+=("$name, $who: $main% of samples reach main (want >= $MAIN_MIN%)")
    for spec in "$@"; do
      label=${spec%%|*} ere=${spec#*|} want=${spec##*|} # the ERE itself holds '|'
      ere=${ere%|*}
      got=$(uw_share "$f" "$ere")
      printf '  %-10s %5s%% (construction %s%%)\n' "$label" "$got" "$want"
      uw_near "$got" "$want" "$TOL" || bad+=("$name, $who: path $label has $got% of samples (want $want ± $TOL%; /$ere/)")
    done
    if [ ${#bad[@]} -gt 0 ]; then
      uw_top "$f"
      if [ "$prof" = oracle ]; then
        for b in "${bad[@]}"; do echo "  ORACLE: $b"; done
        ORACLE_FAILS+=("${bad[@]}")
      else
        for b in "${bad[@]}"; do uw_gprof_fail "$b"; done
      fi
    fi
  done
}

check_workload wl_uw_paths \
  'a-b-leaf|;main;path_a;path_b;uw_leaf(;| )|50' \
  'c-leaf|;main;path_c;uw_leaf(;| )|30' \
  'd|;main;path_d(;| )|20'
check_workload wl_uw_cpp \
  'templates|;main;uwcpp::run_templates[^;]*;uwcpp::Chain<3>::step[^;]*;uwcpp::Chain<2>::step[^;]*;uwcpp::Chain<1>::step[^;]*;uwcpp::Chain<0>::step|60' \
  'throw|;main;uwcpp::run_exceptions[^;]*(;| )|40'
check_workload wl_uw_pie \
  'outer|;main;pie_outer;pie_mid;pie_leaf(;| )|60' \
  'other|;main;pie_other(;| )|40'
check_workload wl_uw_signal \
  'handler|;main;sig_caller;sig_spin;([^;]+;)*sig_handler;sig_work(;| )|40' \
  'sig_spin|;main;sig_caller;sig_spin(;| )|100'
check_workload wl_uw_mixed \
  'callback|;main;mixed_drive;cb_iterate;cb_inner;mixed_callback;mixed_work(;| )|70' \
  'direct|;main;mixed_direct(;| )|30'

if [ ${#ORACLE_FAILS[@]} -gt 0 ]; then
  printf '  %s\n' "${ORACLE_FAILS[@]}" >&2
  fail "perf --call-graph dwarf does not see the workloads' construction: fix the workloads first"
fi
uw_finish
