# lib.sh — helpers shared by the integration tests (sourced, not run).
# Exit code 77 marks a skip (ctest SKIP_RETURN_CODE); under GPROF_REQUIRE_BPF=1 (CI) a test
# that would skip for lack of BPF fails instead.
BUILD=${GPROF_BUILD_DIR:?set by ctest}
SRC=${GPROF_SOURCE_DIR:?set by ctest}
GPROFCTL=$BUILD/cli/gprofctl
WL=$BUILD/tests/workloads

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() {
  if [ "${GPROF_REQUIRE_BPF:-0}" = 1 ]; then fail "would skip, but BPF is required here: $*"; fi
  echo "SKIP: $*" >&2; exit 77
}
need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root"; }

# Sum of counts of collapsed lines (header skipped) whose frames match an ERE.
count_matching() { # FILE ERE
  awk -v re="$2" 'NR > 1 || !/^# / { n = $NF; $NF = ""; if ($0 ~ re) s += n } END { print s + 0 }' "$1"
}
total_samples() { count_matching "$1" '.'; }

# Percentage a/b with one decimal.
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }'; }
