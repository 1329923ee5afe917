#!/usr/bin/env bash
# `gprofctl record` fails clearly and keeps what it sampled: usage errors, no such pid, an
# unwritable output, not root, a pid that exits midway, Ctrl-C, and the default output names.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT

expect_fail() { # WANT_STATUS MESSAGE_ERE ARGS...
  local want=$1 re=$2; shift 2
  set +e; "$GPROFCTL" "$@" > "$tmp/out" 2> "$tmp/err"; local rc=$?; set -e
  [ $rc -eq "$want" ] || { cat "$tmp/err"; fail "gprofctl $*: exit $rc, want $want"; }
  grep -Eq "$re" "$tmp/err" || { cat "$tmp/err"; fail "gprofctl $*: message does not match /$re/"; }
  echo "ok: gprofctl $* -> $(head -n1 "$tmp/err")"
}

expect_fail 2 "not a process id" record --pid abc
expect_fail 2 "frequency of 1-10000" record -F 0
expect_fail 2 "seconds between" record -d -1
expect_fail 2 "bpf or perf" record --sampler dtrace
expect_fail 2 "unknown verb" recrod
expect_fail 1 "no process with pid 4000000" record --pid 4000000 -d 1
expect_fail 1 "cannot write /proc/nope/x.html" record -d 1 -o /proc/nope/x.html
expect_fail 1 "cannot run /nonexistent/cmd" record -o "$tmp/x.col" -- /nonexistent/cmd
# not root: no CAP_BPF / CAP_PERFMON
set +e; setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$GPROFCTL" record -d 1 -o /tmp/x.col 2> "$tmp/err"; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "needs root, or CAP_BPF and CAP_PERFMON" "$tmp/err" || { cat "$tmp/err"; fail "non-root run: exit $rc"; }
echo "ok: unprivileged -> $(cat "$tmp/err")"

# A pid that exits midway: the profile keeps what was sampled, and the message says so.
"$WL/burn" -d 1.5 -t 1 > /dev/null &
bpid=$!
sleep 0.2
"$GPROFCTL" record -q --pid $bpid -d 10 -F 499 -o "$tmp/exit.col" 2> "$tmp/err" || { cat "$tmp/err"; fail "record of an exiting pid failed"; }
grep -Eq "pid $bpid exited after [0-9.]+ s; the profile keeps what was sampled" "$tmp/err" || { cat "$tmp/err"; fail "no exit message"; }
[ "$(count_matching "$tmp/exit.col" ';hot_a(;| )')" -gt 20 ] || fail "samples before the exit were lost"
echo "ok: exiting pid -> $(grep exited "$tmp/err")"

# Ctrl-C (SIGINT) ends early and still writes the result; without -o, two files by UTC time.
"$WL/burn" -d 20 -t 1 > /dev/null &
bpid=$!
(cd "$tmp" && exec "$GPROFCTL" record -q --pid $bpid -F 499 > "$tmp/paths" 2> "$tmp/err") &
rpid=$!
sleep 2
kill -INT $rpid
wait $rpid || { cat "$tmp/err"; fail "record interrupted by SIGINT exited non-zero"; }
kill $bpid 2>/dev/null || true
grep -Eq '^gprof-[0-9]{8}T[0-9]{6}Z\.html$' "$tmp/paths" && grep -Eq '^gprof-[0-9]{8}T[0-9]{6}Z\.col$' "$tmp/paths" \
  || { cat "$tmp/paths"; fail "default output names"; }
col="$tmp/$(grep '\.col$' "$tmp/paths")"
[ "$(count_matching "$col" ';hot_a(;| )')" -gt 20 ] || fail "interrupted recording lost its samples"
head -c 2 "$col" | grep -q '^# ' || fail "collapsed output lacks the header line"
grep -q 'hot_a' "$tmp/$(grep '\.html$' "$tmp/paths")" || fail "HTML output lacks the profile"
ls "$tmp"/*.tmp.* 2>/dev/null && fail "temporary files left behind"
echo "ok: SIGINT -> $(tr '\n' ' ' < "$tmp/paths")"
echo "PASS"
