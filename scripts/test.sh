#!/usr/bin/env bash
# Runs every gprof test: installs dependencies, builds (normal + ASan/UBSan), runs ctest.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

# stage NAME — starts a timed stage ("== NAME"); the breakdown is printed when the run ends.
# CPU is the user + system time of the processes the stage waited for (bash's `times`, read in
# this shell: a subshell would start from zero); servers started in the background are not in it.
stages=()
stage_name=
stage_t0=$SECONDS
stage_cpu0=0
stage_times=$(mktemp /tmp/gprof-times-XXXXXX)
cpu_now() { # sets CPU: children's user + system seconds so far
  times >"$stage_times"
  CPU=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } }
       END { printf "%d", s }' "$stage_times")
}
stage_end() {
  if [ -n "$stage_name" ]; then
    cpu_now
    stages+=("$(printf '%5d s  %5d s  %s' $((SECONDS - stage_t0)) $((CPU - stage_cpu0)) "$stage_name")")
  fi
  stage_name=
}
stage() {
  stage_end
  stage_name=$1
  stage_t0=$SECONDS
  cpu_now
  stage_cpu0=$CPU
  echo "== $1"
}
stage_report() {
  stage_end
  echo "== stage times ($jobs cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
  echo " wall    CPU    stage"
  printf '%s\n' "${stages[@]}"
  cpu_now
  printf '%5d s  %5d s  total\n' "$SECONDS" "$CPU"
  rm -f "$stage_times"
}

trap stage_report EXIT

stage "dependencies (apt, npm)"

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
# GPROF_TEST_SANITIZED_DIR: the integration tests labelled "sanitized" run the programs of
# build-asan/ (tests/CMakeLists.txt), in the last stage, in place of this build's.
stage "build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPROF_BUILD_TESTS=ON \
  -DGPROF_SANITIZE=OFF -DGPROF_FUZZ=OFF -DGPROF_TEST_SANITIZED_DIR="$root/build-asan" >/dev/null
cmake --build build -j"$jobs"

# Only what the sanitized runs need: the unit executables and the workloads they sample (target
# gprof-unit-tests, run by the next stage) and the programs the "sanitized" integration tests run
# in the last stage (gprof-sanitized-programs: mostly link time, the objects are shared).
stage "build (ASan + UBSan, unit tests and programs)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGPROF_BUILD_TESTS=ON \
  -DGPROF_SANITIZE=ON -DGPROF_FUZZ=OFF -DGPROF_TEST_SANITIZED_DIR= >/dev/null
cmake --build build-asan -j"$jobs" --target gprof-unit-tests gprof-sanitized-programs

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
  local log rc=0
  log=$(mktemp /tmp/gprof-ctest-XXXXXX)
  (cd "$dir" && ctest --no-tests=error --output-on-failure "$@") 2>&1 | tee "$log" || rc=$?
  slowest "$log"
  rm -f "$log"
  return $rc
}

# slowest LOG — the 20 slowest tests of a ctest log (wall time; under -j two run at once).
slowest() {
  echo "   20 slowest:"
  sed -n 's/^ *[0-9]*\/[0-9]* Test *#[0-9]*: \([^ ]*\) .*[^0-9.]\([0-9.]*\) sec$/\2 \1/p' "$1" |
    sort -rn | head -20 | awk '{ printf "   %7.1f s  %s\n", $1, $2 }'
}

# Storage servers (PostgreSQL, ClickHouse, S3) start once, privately on loopback, and serve every
# stage below; their specs reach the tests as GPROF_TEST_SPEC_<ENGINE> (tests/servers/all.sh).
if [ "${CI:-}" = "true" ]; then export GPROF_REQUIRE_SERVERS=1; fi
servers=$(mktemp -d /tmp/gprof-servers-XXXXXX)
trap 'bash tests/servers/all.sh stop "$servers"; rm -rf "$servers"; stage_report' EXIT
stage "test servers"
bash tests/servers/all.sh start "$servers"
for env in "$servers"/*.env; do
  [ -e "$env" ] || continue
  # shellcheck disable=SC1090
  . "$env"
done

status=0
stage "unit tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_ctest build-asan -L unit -j"$jobs" || status=1
unset ASAN_OPTIONS UBSAN_OPTIONS

# Fuzz stage: every libFuzzer target, libraries instrumented, 20 s each on a scratch copy of its
# corpus, two at a time (under 3 min for 16 targets); any crash, leak, UB or hang fails the run.
stage "fuzz build (clang)"
if cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPROF_FUZZ=ON \
      -DCMAKE_C_COMPILER=clang >/dev/null && cmake --build build-fuzz -j"$jobs" --target fuzzers; then
  stage "fuzz targets (20 s each, 2 at a time)"
  tests/fuzz/run_fuzzers.sh build-fuzz 20 2 || status=1
else
  echo "fuzz build failed" >&2
  status=1
fi

# Every test, two at a time: tests that must not overlap (BPF sampling and the agent, browsers,
# private servers, deadline checks) hold a RESOURCE_LOCK or RUN_SERIAL (tests/CMakeLists.txt).
# Those labelled "sanitized" run build-asan/'s programs; any sanitizer report fails them
# (tests/integration/sanitizers.sh sets ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS).
# Without arguments it leaves out label unit: the unit tests (with their @engine variants and
# the fuzz corpus replays) ran above under ASan + UBSan, and a second, unsanitized run of them
# only lengthens the one-at-a-time chain of sampling tests (unit_sampler, unit_symbols_*).
# `scripts/test.sh -L unit` runs them here too.
stage "all tests (ctest -j$jobs)"
if [ $# -eq 0 ]; then set -- -LE '^unit$'; fi
run_ctest build -j"$jobs" "$@" || status=1
exit $status
