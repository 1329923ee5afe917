#!/usr/bin/env bash
# test_pprof.sh — the pprof export is readable by Debian's `go tool pprof`, which lists the hot
# function first with the right share, and shows the process name as the root frame.
set -euo pipefail
: "${GPROF_BUILD_DIR:?}"
. "$(dirname "$0")/sanitizers.sh" # BIN: the build whose unit_pprof runs (ASan or not)
tool="$BIN/tests/unit_pprof"
[ -x "$tool" ] || { echo "missing $tool (build the unit tests)"; exit 1; }
command -v go >/dev/null || { echo "go not installed (golang-go is a test dependency)"; exit 1; }

tmp=$(mktemp -d)
trap 'rc=$?; sanitizer_check "$tmp" || rc=1; rm -rf "$tmp"; exit $rc' EXIT
export HOME="$tmp/home" GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" GOFLAGS=-mod=mod GOPROXY=off
mkdir -p "$HOME"

# 70 % in hot_function, 30 % in cold_function, both under main; a kernel frame too.
{
  printf '# {"hostname":"test","sampling_frequency":99,"start_time":"2026-01-02T03:04:05Z","end_time":"2026-01-02T03:05:05Z"}\n'
  printf '0;;burner;_start;main;hot_function 600\n'
  printf '0;;burner;_start;main;hot_function;do_syscall_64_[k] 100\n'
  printf '0;;burner;_start;main;cold_function 300\n'
  printf '0;web;other;start_thread;cold_function 0'
} > "$tmp/in.col"

"$tool" --convert "$tmp/in.col" "$tmp/out.pb.gz"
[ "$(head -c2 "$tmp/out.pb.gz" | od -An -tx1 | tr -d ' ')" = "1f8b" ] || { echo "not gzip"; exit 1; }

go tool pprof -top -sample_index=samples "$tmp/out.pb.gz" > "$tmp/top.txt" 2> "$tmp/err.txt" || {
  cat "$tmp/err.txt"; exit 1; }
cat "$tmp/top.txt"
# The first function row (after the two header lines) is the hot one, 600 flat of 1000.
first=$(awk '/flat%/ {getline; print; exit}' "$tmp/top.txt")
echo "first row: $first"
[[ "$first" =~ ^[[:space:]]*600[[:space:]]+60\.00%.*hot_function$ ]] || { echo "FAIL: hot_function not first with 600 (60%)"; exit 1; }
grep -Eq '^[[:space:]]*300[[:space:]]+30\.00%.*cold_function$' "$tmp/top.txt" || { echo "FAIL: cold_function 300"; exit 1; }
grep -Eq 'do_syscall_64_\[k\]$' "$tmp/top.txt" || { echo "FAIL: kernel frame missing"; exit 1; }
grep -q 'Showing nodes accounting for 1000, 100% of 1000 total' "$tmp/top.txt" || { echo "FAIL: total"; exit 1; }

# cpu time: 1000 samples at 99 Hz = 10.1 s; the comm is the root (cum 100 %).
go tool pprof -top -cum -sample_index=cpu "$tmp/out.pb.gz" > "$tmp/cum.txt" 2>/dev/null
cat "$tmp/cum.txt"
grep -q 'of 10.10s total' "$tmp/cum.txt" || { echo "FAIL: cpu total not 10.10s"; exit 1; }
grep -Eq '10\.10s[[:space:]]+100%[[:space:]]+burner$' "$tmp/cum.txt" || { echo "FAIL: comm not root"; exit 1; }

# comm label filtering works.
go tool pprof -top -tagfocus=comm=burner -sample_index=samples "$tmp/out.pb.gz" 2>/dev/null | grep -q 'of 1000 total' || { echo "FAIL: tagfocus comm"; exit 1; }
echo "PASS"
