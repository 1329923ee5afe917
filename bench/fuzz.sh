#!/usr/bin/env bash
# bench/fuzz.sh — fuzzing as a habit (issue 16): runs every libFuzzer target of an instrumented
# build (tests/fuzz, -DGPROF_FUZZ=ON: ASan + UBSan + coverage in every library) for SECONDS each,
# JOBS at a time (default one per core), through tests/fuzz/run_fuzzers.sh --table: a Markdown
# table of executions, execs/s, coverage (cov = edges, ft = features) at start and end, inputs
# added, peak RSS and findings (crash, leak, UB, timeout, OOM inputs).
# Usage: bench/fuzz.sh [SECONDS=120] [JOBS=nproc] [NAME...]
#   FUZZ_BUILD=DIR   the fuzz build (default build-fuzz; configured with clang and built if it
#                    has no fuzzers yet, -j2)
#   FUZZ_KEEP=DIR    where logs, grown corpora and findings go and stay (default a fresh
#                    /tmp/gprof-fuzz.XXXXXX, removed when nothing was found)
# Exit status 1 when any target found something; its input is kept (copy it into
# tests/fuzz/corpus/<name>/ once fixed, so every build replays it).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-120}
jobs=${2:-$(nproc)}
shift $(($# < 2 ? $# : 2))
build=${FUZZ_BUILD:-$src/build-fuzz}
first=${1:-}
[ -n "$first" ] || { first=$(ls "$src"/tests/fuzz/fuzz_*.c | head -1) && first=$(basename "$first" .c) && first=${first#fuzz_}; }
if [ ! -x "$build/tests/fuzz/fuzz_$first" ]; then
    echo "fuzz.sh: building the fuzzers in $build (clang, -DGPROF_FUZZ=ON)" >&2
    CC=clang cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPROF_FUZZ=ON \
        -DGPROF_BUILD_TESTS=ON >"$build.configure.log" 2>&1 &&
        cmake --build "$build" -j2 --target fuzzers >"$build.build.log" 2>&1 ||
        { echo "fuzz.sh: fuzz build failed, see $build.*.log" >&2; exit 2; }
fi
keep=()
[ -z "${FUZZ_KEEP:-}" ] || keep=(--keep "$FUZZ_KEEP")
exec bash "$src/tests/fuzz/run_fuzzers.sh" --table "${keep[@]}" "$build" "$secs" "$jobs" "$@"
