#!/usr/bin/env bash
# Acceptance (issue 2): a workload burning 70% / 30% in hot_a / hot_b is reported within ±3
# points by `gprofctl record --pid`, with user stacks (and kernel stacks in kernel mode), for
# both samplers; `-- COMMAND` profiles a command until it exits.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

check_shares() { # FILE LABEL
  local a b t
  a=$(count_matching "$1" ';hot_a(;| )')
  b=$(count_matching "$1" ';hot_b(;| )')
  t=$((a + b))
  [ "$t" -ge 1000 ] || fail "$2: only $t samples in hot_a/hot_b"
  local share; share=$(pct "$a" "$t")
  echo "$2: hot_a $a, hot_b $b -> hot_a share $share% (want 70 ± 3)"
  awk -v s="$share" 'BEGIN { exit !(s >= 67 && s <= 73) }' || fail "$2: hot_a share $share% outside 67..73"
  grep -q ';main;' "$1" || grep -q ';start_thread;' "$1" || fail "$2: no user stack above hot_a/hot_b"
}

for sampler in bpf perf; do
  for mode in user kernel; do
    "$WL/burn" -d 12 -t 2 -m $mode > "$tmp/burn.out" &
    bpid=$!
    sleep 0.5
    out="$tmp/$sampler-$mode.col"
    if ! "$GPROFCTL" record -q --sampler $sampler --pid $bpid -d 6 -F 999 -o "$out" 2> "$tmp/err"; then
      cat "$tmp/err" >&2
      if [ $sampler = bpf ] && grep -qi 'bpf' "$tmp/err"; then skip "BPF sampler cannot load"; fi
      fail "$sampler/$mode: record failed"
    fi
    kill $bpid 2>/dev/null || true; wait $bpid 2>/dev/null || true
    check_shares "$out" "$sampler/$mode"
    if [ $mode = kernel ]; then
      k=$(count_matching "$out" ';hot_[ab];.*_\[k\]')
      t=$(total_samples "$out")
      echo "$sampler/$mode: $k of $t samples have kernel frames under hot_a/hot_b"
      [ $((k * 2)) -gt "$t" ] || fail "$sampler/$mode: kernel stacks missing under hot_a/hot_b"
    fi
  done
done

# `-- COMMAND`: held until sampling runs, profiled until it exits.
"$GPROFCTL" record -q -F 499 -o "$tmp/cmd.col" -- "$WL/burn" -d 2 -t 1 > "$tmp/cmd.out" 2> "$tmp/cmd.err" \
  || { cat "$tmp/cmd.err"; fail "record -- COMMAND failed"; }
a=$(count_matching "$tmp/cmd.col" ';hot_a(;| )')
[ "$a" -gt 50 ] || fail "record -- burn: only $a samples in hot_a"
echo "record -- COMMAND: $a samples in hot_a"

# pprof output: `go tool pprof -top` lists the hot function first.
if command -v go > /dev/null; then
  "$GPROFCTL" record -q -F 999 -o "$tmp/burn.pb.gz" -- "$WL/burn" -d 2 -t 1 > /dev/null 2> "$tmp/err" \
    || { cat "$tmp/err"; fail "record to pprof failed"; }
  HOME=$tmp GOCACHE=$tmp/gocache GOFLAGS=-mod=mod GOTOOLCHAIN=local \
    go tool pprof -top "$tmp/burn.pb.gz" > "$tmp/top.txt" 2> "$tmp/err" || { cat "$tmp/err"; fail "go tool pprof failed"; }
  first=$(awk '/flat%/ { getline; print $NF; exit }' "$tmp/top.txt")
  echo "go tool pprof -top: first is $first"
  [ "$first" = hot_a ] || { cat "$tmp/top.txt"; fail "pprof top function is '$first', want hot_a"; }
else
  fail "go (golang-go) is not installed: scripts/install-deps.sh installs it"
fi
echo "PASS"
