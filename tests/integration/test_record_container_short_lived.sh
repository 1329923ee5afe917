#!/usr/bin/env bash
# A process that exits before the drain that hands out its samples keeps its container label:
# the session takes the container captured when the process was first seen (the symbolizer's
# process facts), not /proc/PID/cgroup, which is gone by then. The container is a cgroup whose
# path names a docker container id; without the runtime's state its label is the id's 12 chars.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
ID=$(printf 'c0ffee%058d' 12)
CG=/sys/fs/cgroup/pids
[ -w "$CG/cgroup.procs" ] || CG=/sys/fs/cgroup/unified
[ -w "$CG/cgroup.procs" ] || skip "no writable cgroup hierarchy here"
DIR=$CG/gprof-test-$$/docker/$ID
tmp=$(mktemp -d)
trap 'rmdir "$DIR" "$CG/gprof-test-$$/docker" "$CG/gprof-test-$$" 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$DIR"

# record joins the container's cgroup first, so the burner is in it from its first sample; it
# lives 0.3 s, the first drain comes after 1 s (the session drains once a second), so every
# sample of it is handed out after it exited.
sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$DIR" \
  "$GPROFCTL" record -q -F 999 -o "$tmp/out.col" -- "$WL/burn" -d 0.3 -t 1 \
  > "$tmp/burn.out" 2> "$tmp/err" || { cat "$tmp/err" >&2; fail "record failed"; }
grep -q "$ID" /proc/self/cgroup && fail "the test shell itself joined the cgroup"

burn=$(count_matching "$tmp/out.col" ';hot_a(;| )')
[ "$burn" -gt 0 ] || { head -c 1500 "$tmp/out.col"; fail "no samples in hot_a"; }
labelled=$(awk -F';' -v c="${ID:0:12}" '!/^# / && NF && $3 == "burn" && $2 == c { k = split($0, w, " "); n += w[k] }
  END { print n + 0 }' "$tmp/out.col")
unlabelled=$(awk -F';' -v c="${ID:0:12}" '!/^# / && NF && $3 == "burn" && $2 != c { print $1 ";" $2 ";" $3 }' \
  "$tmp/out.col" | sort -u | head -3)
echo "burn: $labelled samples labelled ${ID:0:12}; other labels: ${unlabelled:-none}"
[ "$labelled" -gt 0 ] && [ -z "$unlabelled" ] ||
  fail "the short-lived process lost its container label: $(grep ';burn;' "$tmp/out.col" | cut -d';' -f1-3 | sort | uniq -c)"
grep -q "\"containers\": *\[[^]]*\"${ID:0:12}\"" "$tmp/out.col" ||
  fail "the header's containers do not list ${ID:0:12}: $(head -c 600 "$tmp/out.col")"

# The way a container runtime starts a process: it runs on the host first, joins the
# container's cgroup, then execs. Sampled before it joined, it still gets the label its exec
# brings (the process is noted again at exec), though it too exits before the first drain.
"$GPROFCTL" record -q -F 999 -o "$tmp/late.col" -- sh -c 'i=0; while [ $i -lt 100000 ]; do
  i=$((i + 1)); done; echo $$ > "$1/cgroup.procs" && exec "$2" -d 0.3 -t 1' sh "$DIR" "$WL/burn" \
  > "$tmp/burn2.out" 2> "$tmp/err" || { cat "$tmp/err" >&2; fail "record of the late joiner failed"; }
late=$(awk -F';' -v c="${ID:0:12}" '!/^# / && NF && $3 == "burn" && $2 == c { k = split($0, w, " "); n += w[k] }
  END { print n + 0 }' "$tmp/late.col")
other=$(awk -F';' -v c="${ID:0:12}" '!/^# / && NF && $3 == "burn" && $2 != c' "$tmp/late.col" | wc -l)
echo "joined late: burn $late samples labelled ${ID:0:12}, $other stacks without the label"
[ "$late" -gt 0 ] && [ "$other" = 0 ] ||
  fail "a process that joined its container before exec lost the label: $(cut -d';' -f1-3 "$tmp/late.col" | sort | uniq -c)"
echo "PASS"
