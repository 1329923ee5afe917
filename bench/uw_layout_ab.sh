#!/usr/bin/env bash
# The BPF unwinder's row layout, old against new, in one run (issue 13): builds gprofctl with
# -DGPROF_BPF_WALK_TIMING=ON from commit OLD (default 4a0739b: 4-byte pcs, rule ids into a rules
# map, one page entry per 4 KiB) and from the working tree (2-byte page-relative keys, 4-byte
# packed rules, one page entry per KiB, mapping starts apart), then runs side by side, in
# interleaved rounds: bench/uw_walk_ns.sh (the walk timed inside the program, --pid on
# 2 x wl_uw_deep, ~24 no-FP frames) and bench/bpf_sample_cost.sh -w uwdeep (the whole BPF run
# time per sample, host-wide, with the empty-program floor).
# Usage (root): bench/uw_layout_ab.sh [OLD_COMMIT]    ~5-6 min on a quiet 2-core VM
#   env: ROUNDS (default 3), SECS (default 8), OUT (default /tmp/uw-layout-ab)
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:-4a0739b}
ROUNDS=${ROUNDS:-3} SECS=${SECS:-8} OUT=${OUT:-/tmp/uw-layout-ab}
[ "$(id -u)" -eq 0 ] || { echo "run as root (BPF)" >&2; exit 1; }
mkdir -p "$OUT"
rm -rf "$OUT/old-src"
mkdir -p "$OUT/old-src"
git archive "$OLD" | tar -x -C "$OUT/old-src"
build() { # SRC DIR
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPROF_BUILD_TESTS=OFF \
    -DGPROF_BPF_WALK_TIMING=ON > "$2.cfg.log" 2>&1
  cmake --build "$2" -j2 --target gprofctl > "$2.build.log" 2>&1 ||
    { tail -20 "$2.build.log" >&2; exit 1; }
}
build "$OUT/old-src" "$OUT/old"
build "$PWD" "$OUT/new"
cp "$OUT/old/cli/gprofctl" "$OUT/gprofctl-old"
cp "$OUT/new/cli/gprofctl" "$OUT/gprofctl-new"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== walk time inside the program (bench/uw_walk_ns.sh -r $ROUNDS -d $SECS)"
bash bench/uw_walk_ns.sh -r "$ROUNDS" -d "$SECS" "$OUT/gprofctl-old" "$OUT/gprofctl-new"
echo "== BPF run time per sample (bench/bpf_sample_cost.sh -r 2 -d $SECS -w uwdeep)"
bash bench/bpf_sample_cost.sh -r 2 -d "$SECS" -w uwdeep "$OUT/gprofctl-old" "$OUT/gprofctl-new" \
  floor-empty
