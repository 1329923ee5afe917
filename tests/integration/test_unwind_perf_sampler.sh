#!/usr/bin/env bash
# Issue 13: the perf sampler unwinds too. `gprofctl record --sampler perf` on a workload built
# -O2 -fomit-frame-pointer (tests/workloads/nofp_chain: main -> chain_a -> chain_b -> chain_c ->
# nofp_lib_d -> nofp_lib_hot in a no-FP library) walks the user stack copied with each sample
# with the unwind tables: >= 95% of samples reach main, every walk is counted in the header's
# gprof.unwind, and the BPF sampler, recording the same process at the same time, gives the same
# top stacks (user frames; shares within 5 points).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
SECS=5
MAIN_MIN=95

"$WL/nofp_chain" 30 > "$tmp/wl.out" &
wpid=$!
for _ in $(seq 50); do grep -q '^ready' "$tmp/wl.out" && break; sleep 0.1; done
grep -q '^ready' "$tmp/wl.out" || fail "nofp_chain did not start"

pids=()
for s in perf bpf; do
  "$GPROFCTL" record -q --sampler $s --pid $wpid -d $SECS -F 499 -o "$tmp/$s.col" 2> "$tmp/$s.err" &
  pids+=($!)
done
i=0
for s in perf bpf; do
  if ! wait "${pids[$i]}"; then
    cat "$tmp/$s.err" >&2
    if [ $s = bpf ] && grep -qi 'bpf' "$tmp/$s.err"; then skip "BPF sampler cannot load"; fi
    fail "gprofctl record --sampler $s failed"
  fi
  i=$((i + 1))
done
kill $wpid 2> /dev/null || true; wait $wpid 2> /dev/null || true

# user_stacks FILE OUT — the user frames of each stack (pid, container and kernel frames dropped),
# counts of equal stacks summed
user_stacks() {
  awk '/^# / { next } NF {
         n = $NF; $NF = ""; sub(/ $/, ""); k = split($0, f, ";"); s = ""
         for (i = 3; i <= k; i++) if (f[i] !~ /_\[k\]$/) s = s (s == "" ? "" : ";") f[i]
         c[s] += n
       } END { for (s in c) print s, c[s] }' "$1" | sort -t' ' -k2,2nr > "$2"
}

for s in perf bpf; do
  f="$tmp/$s.col"
  n=$(total_samples "$f")
  main=$(pct "$(count_matching "$f" ';main;')" "$n")
  echo "--sampler $s: $n samples, $main% reach main"
  [ "$n" -ge 300 ] || fail "--sampler $s: only $n samples"
  awk -v m="$main" -v min=$MAIN_MIN 'BEGIN { exit !(m >= min) }' \
    || { sort -t' ' -k2 -nr "$f" | head -3 >&2; fail "--sampler $s: $main% of samples reach main (want >= $MAIN_MIN%)"; }
  user_stacks "$f" "$tmp/$s.user"
done

# The perf sampler's walks are in the header: one per sample, nearly all to the end of the stack.
hdr=$(head -1 "$tmp/perf.col" | sed 's/^# //')
walks=$(jq '[.gprof.unwind.walks[]] | add' <<< "$hdr")
ends=$(jq '.gprof.unwind.walks.end' <<< "$hdr")
samples=$(jq '.gprof.samples' <<< "$hdr")
echo "perf header: $samples samples, $walks walks, $ends reached the end; $(jq -c .gprof.unwind.walks <<< "$hdr")"
[ "$walks" = "$samples" ] || fail "perf: $walks unwind walks for $samples samples"
[ $((ends * 100)) -ge $((samples * MAIN_MIN)) ] || fail "perf: only $ends of $samples walks reached the end"

# Both samplers: the same top stacks with the same shares.
pt=$(total_samples "$tmp/perf.col") bt=$(total_samples "$tmp/bpf.col")
head -3 "$tmp/perf.user" | while read -r stack count; do
  b=$(awk -v s="$stack" '$1 == s { print $2 }' "$tmp/bpf.user")
  ps=$(pct "$count" "$pt") bs=$(pct "${b:-0}" "$bt")
  echo "  perf $ps% bpf $bs%  $stack"
  awk -v a="$ps" -v b="$bs" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 5) }' \
    || fail "stack shares differ between the samplers: perf $ps%, bpf $bs%: $stack"
done
echo "PASS"
