#!/usr/bin/env bash
# Acceptance (issue 2): sampled stacks of every workload in tests/workloads are named: the hot
# function appears, and >= 99% of samples have every frame named (no `module+0x…`, no
# `[unknown]`, no lost stack). Covers C, C++ (demangled), a shared library, a PIE, .dynsym only,
# a build-id debug file, .gnu_debuglink, MiniDebugInfo, a private mount namespace, a JIT perf
# map, and a process that lives under a second.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
UNNAMED='\+0x[0-9a-f]+(;| )|\[unknown\]|\[lost stack\]'

# Samples of process PID (by comm) in FILE; checks the hot name and the named share.
check() { # FILE COMM HOT LABEL
  local file=$1 comm=$2 hot=$3 label=$4
  awk -v c="$comm" 'NR > 1 { split($0, f, ";"); if (f[3] == c) print }' "$file" > "$tmp/mine"
  local total unnamed hotn
  total=$(total_samples "$tmp/mine")
  unnamed=$(count_matching "$tmp/mine" "$UNNAMED")
  hotn=$(count_matching "$tmp/mine" ";$hot(;| )")
  echo "$label: $total samples, $hotn in $hot, $unnamed with an unnamed frame ($(pct "$unnamed" "$total")%)"
  [ "$total" -ge 100 ] || fail "$label: only $total samples"
  [ $((hotn * 2)) -ge "$total" ] || { grep -v "$hot" "$tmp/mine" | sort -k2 -nr -t' ' | head -5; fail "$label: $hot in only $hotn of $total samples"; }
  [ $((unnamed * 100)) -le "$total" ] || { grep -E "$UNNAMED" "$tmp/mine" | head -5; fail "$label: more than 1% of samples have unnamed frames"; }
}

profile_workload() { # LABEL HOT COMMAND...
  local label=$1 hot=$2; shift 2
  "$@" 6 > "$tmp/$label.out" &
  local wpid=$!
  for _ in $(seq 50); do grep -q '^ready' "$tmp/$label.out" && break; sleep 0.1; done
  # run-in-mntns.sh execs the workload: its pid is the one we started
  "$GPROFCTL" record -q -F 499 --debug-dir "$WL/debug" --pid $wpid -d 3 -o "$tmp/$label.col" 2> "$tmp/err" \
    || { cat "$tmp/err"; fail "$label: record failed"; }
  kill $wpid 2>/dev/null || true; wait $wpid 2>/dev/null || true
  check "$tmp/$label.col" "$(head -c 15 <<< "$(basename "$label")")" "$hot" "$label"
}

profile_workload wl_c c_hot_alpha "$WL/wl_c"
profile_workload wl_pie pie_hot_loop "$WL/wl_pie"
profile_workload wl_cpp 'gpw::engine::Matrix<double>::multiply\(int\)' "$WL/wl_cpp"
profile_workload wl_shlib shlib_hot_spin "$WL/wl_shlib"
profile_workload wl_dynsym dynsym_hot_loop "$WL/wl_dynsym"
profile_workload wl_debugid debugid_hot_loop "$WL/wl_debugid"
profile_workload wl_debuglink debuglink_hot_loop "$WL/wl_debuglink"
profile_workload wl_minidebug minidebug_hot_loop "$WL/wl_minidebug"
profile_workload wl_jit jit_hot_loop "$WL/wl_jit"
profile_workload wl_mntns mntns_hot_loop "$SRC/tests/workloads/run-in-mntns.sh" "$WL/wl_mntns"

# A process that lives 300 ms, sampled host-wide and named after it has exited.
"$GPROFCTL" record -q -F 499 -d 4 -o "$tmp/short.col" 2> "$tmp/err" &
rpid=$!
sleep 1.5
for _ in 1 2 3; do "$WL/wl_short" 300 > /dev/null; done
wait $rpid || { cat "$tmp/err"; fail "host-wide record failed"; }
check "$tmp/short.col" wl_short short_hot_loop wl_short
echo "PASS"
