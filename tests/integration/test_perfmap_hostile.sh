#!/usr/bin/env bash
# Regression (issue 10 #3): the root profiler reads /tmp/perf-PID.map, which any local user can
# plant. A JIT workload runs as `nobody`, and `nobody` (or another user) puts at its perf map path:
# a FIFO (must not hang), a symlink to a root-only file (must not be read), a 10 GB sparse file
# (refused, memory stays small), a file of another user (refused). Each refusal is logged with
# its reason and the JIT frames still show as module+0xoffset; the process's own map still names
# them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
command -v setpriv > /dev/null || skip "needs setpriv (util-linux)"
NOBODY=$(id -u nobody) || skip "no user nobody"
OTHER=4242 # another user: a uid is enough, it needs no account
tmp=$(mktemp -d)
wpid=
cleanup() {
  [ -n "$wpid" ] && kill "$wpid" 2> /dev/null && wait "$wpid" 2> /dev/null || true
  [ -n "$wpid" ] && rm -f "/tmp/perf-$wpid.map"
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
chmod 755 "$tmp"
as_nobody() { setpriv --reuid="$NOBODY" --regid="$(id -g nobody)" --clear-groups -- "$@"; }
# a copy nobody can run wherever the build directory is
install -m 755 "$WL/wl_jit" "$tmp/wl_jit"

# A recognisable secret only root can read.
mkdir -m 700 "$tmp/rootonly"

setpriv --reuid="$NOBODY" --regid="$(id -g nobody)" --clear-groups -- "$tmp/wl_jit" 120 \
  > "$tmp/wl.out" & # setpriv execs: $! is the workload's pid
wpid=$!
for _ in $(seq 100); do grep -q '^ready' "$tmp/wl.out" && break; sleep 0.1; done
grep -q '^ready' "$tmp/wl.out" || fail "wl_jit did not start as nobody"
addr=$(awk '/^sym jit_hot_loop/ { print $3 }' "$tmp/wl.out")
map=/tmp/perf-$wpid.map
[ "$(stat -c %u "$map")" = "$NOBODY" ] || fail "wl_jit's own map is not owned by nobody"

# record LABEL: profiles the workload for 2 s; fails on a hang (60 s) or a failed exit.
# Sets rss_kb (peak RSS of gprofctl).
record() {
  local label=$1 rc=0
  timeout -s KILL 60 /usr/bin/time -f '%M' -o "$tmp/$label.rss" \
    "$GPROFCTL" record -q -F 199 --pid "$wpid" -d 2 -o "$tmp/$label.col" 2> "$tmp/$label.err" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$tmp/$label.err"; fail "$label: gprofctl record exited $rc (137 = killed after 60 s)"; }
  rss_kb=$(tail -1 "$tmp/$label.rss")
  echo "$label: gprofctl peak RSS ${rss_kb} kB; $(grep -c . "$tmp/$label.col") lines"
}
# refused LABEL REASON-ERE: the map was refused with that reason; the JIT frames show as
# module+0xoffset.
refused() {
  local label=$1 reason=$2
  grep -E "perf map refused: .*$reason" "$tmp/$label.err" > /dev/null \
    || { cat "$tmp/$label.err"; fail "$label: no refusal saying '$reason'"; }
  [ "$(grep -c 'perf map refused' "$tmp/$label.err")" -eq 1 ] \
    || { cat "$tmp/$label.err"; fail "$label: the refusal is not logged exactly once"; }
  grep -q 'jit_hot_loop' "$tmp/$label.col" && fail "$label: JIT frames named from a refused map"
  [ "$(count_matching "$tmp/$label.col" '\[anon\]\+0x[0-9a-f]+')" -gt 0 ] \
    || { head -5 "$tmp/$label.col"; fail "$label: JIT frames do not show as [anon]+0xoffset"; }
}
plant() { rm -f "$map"; }

# The process's own map, owned by its user: JIT frames are named.
record good
[ "$(count_matching "$tmp/good.col" ';jit_hot_loop( |;)')" -gt 0 ] \
  || { head -5 "$tmp/good.col"; fail "good: jit_hot_loop not named from the process's own map"; }
good_rss=$rss_kb

# (a) a FIFO: opened without blocking, refused.
plant; as_nobody mkfifo -m 666 "$map"
record fifo
refused fifo 'not a regular file'

# (b) a symlink to a root-only file: never followed.
printf '%s 40 ROOT_ONLY_SECRET_LINE\n' "$addr" > "$tmp/rootonly/secret"
chmod 600 "$tmp/rootonly/secret"
plant; as_nobody ln -s "$tmp/rootonly/secret" "$map"
record symlink
refused symlink 'symbolic link'
grep -q ROOT_ONLY_SECRET "$tmp/symlink.col" "$tmp/symlink.err" && fail "symlink: the root-only file was read"

# (c) a 10 GB sparse file of the right owner: refused by size, memory stays small.
plant; as_nobody sh -c "printf '%s 40 SPARSE_NAME\n' $addr > $map && truncate -s 10G $map"
record sparse
refused sparse 'more than the [0-9]+ MiB perf map limit'
[ "$rss_kb" -lt $((good_rss + 65536)) ] || fail "sparse: gprofctl grew to $rss_kb kB (good map: $good_rss kB)"

# (d) a file owned by another user than the process's.
plant; printf '%s 40 OTHER_USER_NAME\n' "$addr" > "$map"; chown "$OTHER" "$map"
record other
refused other "owned by uid $OTHER"
grep -q OTHER_USER_NAME "$tmp/other.col" && fail "other: a map of another user was read"
echo "PASS"
