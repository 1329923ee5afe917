#!/usr/bin/env bash
# Runs every gprof test: installs dependencies, builds (normal + ASan/UBSan), runs ctest.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-deps.sh
else
  echo "test.sh: not root; assuming dependencies are installed (BPF tests need root)" >&2
fi

# In CI an eBPF test that skips is a failure: the tests read this.
if [ "${CI:-}" = "true" ]; then export GPROF_REQUIRE_BPF=1; fi

# Node packages for the browser tests come from the committed lock file.
if [ -f tests/browser/package-lock.json ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGPROF_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"

status=0
echo "== unit tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest -L unit --output-on-failure -j"$jobs") || status=1
unset ASAN_OPTIONS UBSAN_OPTIONS

# Fuzz stage: every libFuzzer target, libraries instrumented, 30 s each on a scratch copy of its
# corpus, two at a time (about 4 min for 15 targets); any crash, leak, UB or hang fails the run.
echo "== fuzz targets (30 s each)"
if cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPROF_FUZZ=ON \
      -DCMAKE_C_COMPILER=clang >/dev/null && cmake --build build-fuzz -j"$jobs" --target fuzzers; then
  tests/fuzz/run_fuzzers.sh build-fuzz 30 2 || status=1
else
  echo "fuzz build failed" >&2
  status=1
fi

echo "== all tests"
(cd build && ctest --output-on-failure "$@") || status=1
exit $status
