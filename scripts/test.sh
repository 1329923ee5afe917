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
# s3rver, the S3 server of the S3 blob engine's tests (tests/servers/server_s3.sh).
(cd tests/servers/s3 && npm ci --no-audit --no-fund --loglevel=error)

# Every option a stage relies on is passed explicitly: CMake keeps cached values, and a build/
# configured by scripts/demo.sh (GPROF_BUILD_TESTS=OFF) must not turn this run into "no tests".
echo "== build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPROF_BUILD_TESTS=ON \
  -DGPROF_SANITIZE=OFF -DGPROF_FUZZ=OFF >/dev/null
cmake --build build -j"$jobs"

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGPROF_BUILD_TESTS=ON \
  -DGPROF_SANITIZE=ON -DGPROF_FUZZ=OFF >/dev/null
cmake --build build-asan -j"$jobs"

# run_ctest DIR ARGS... — ctest in DIR; a stage that selects no test fails (a green run that
# tested nothing is the worst outcome), as does any failing test.
run_ctest() {
  local dir=$1 n
  shift
  n=$(cd "$dir" && ctest -N "$@" | sed -n 's/^Total Tests: *//p')
  if [ "${n:-0}" -eq 0 ]; then
    echo "test.sh: no test selected in $dir (ctest $*): check the ctest arguments and that $dir is configured with GPROF_BUILD_TESTS=ON" >&2
    return 1
  fi
  echo "   $n tests"
  (cd "$dir" && ctest --no-tests=error --output-on-failure "$@")
}

# Storage servers (PostgreSQL, ClickHouse, S3) start once, privately on loopback, and serve every
# stage below; their specs reach the tests as GPROF_TEST_SPEC_<ENGINE> (tests/servers/all.sh).
if [ "${CI:-}" = "true" ]; then export GPROF_REQUIRE_SERVERS=1; fi
servers=$(mktemp -d /tmp/gprof-servers-XXXXXX)
trap 'bash tests/servers/all.sh stop "$servers"; rm -rf "$servers"' EXIT
echo "== test servers"
bash tests/servers/all.sh start "$servers"
for env in "$servers"/*.env; do
  [ -e "$env" ] || continue
  # shellcheck disable=SC1090
  . "$env"
done

status=0
echo "== unit tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_ctest build-asan -L unit -j"$jobs" || status=1
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
run_ctest build "$@" || status=1
exit $status
