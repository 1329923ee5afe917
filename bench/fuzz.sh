#!/usr/bin/env bash
# bench/fuzz.sh — fuzzing as a habit (issue 16): runs every libFuzzer target of an instrumented
# build (tests/fuzz, -DGPROF_FUZZ=ON: ASan + UBSan + coverage in every library) for SECONDS each,
# JOBS at a time (default one per core), each on a scratch copy of its committed corpus, and
# prints a Markdown table: executions, execs/s, coverage (cov = edges, ft = features) at start
# and end, inputs added, peak RSS and findings (crash, leak, UB, timeout, OOM inputs).
# Usage: bench/fuzz.sh [SECONDS=120] [JOBS=nproc] [NAME...]
#   FUZZ_BUILD=DIR   the fuzz build (default build-fuzz; configured with clang and built if it
#                    has no fuzzers yet, -j2)
#   FUZZ_KEEP=DIR    where logs and findings go (default a fresh /tmp/gprof-fuzzbench.XXXXXX)
# Exit status 1 when any target found something; its input is kept (copy it into
# tests/fuzz/corpus/<name>/ once fixed, so every build replays it).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-120}
jobs=${2:-$(nproc)}
shift $(($# < 2 ? $# : 2))
names=("$@")
build=${FUZZ_BUILD:-$src/build-fuzz}
if [ ${#names[@]} -eq 0 ]; then
    for f in "$src"/tests/fuzz/fuzz_*.c; do
        n=$(basename "$f" .c)
        names+=("${n#fuzz_}")
    done
fi
if [ ! -x "$build/tests/fuzz/fuzz_${names[0]}" ]; then
    echo "fuzz.sh: building the fuzzers in $build (clang, -DGPROF_FUZZ=ON)" >&2
    CC=clang cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPROF_FUZZ=ON \
        -DGPROF_BUILD_TESTS=ON >"$build.configure.log" 2>&1 &&
        cmake --build "$build" -j2 --target fuzzers >"$build.build.log" 2>&1 ||
        { echo "fuzz.sh: fuzz build failed, see $build.*.log" >&2; exit 2; }
fi
work=${FUZZ_KEEP:-$(mktemp -d /tmp/gprof-fuzzbench.XXXXXX)}
mkdir -p "$work"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_one NAME: one target; writes $work/NAME/row (a table row) and returns 1 on a finding
run_one() {
    local n=$1 bin=$build/tests/fuzz/fuzz_$1 dir=$work/$1
    mkdir -p "$dir/corpus" "$dir/artifacts"
    if [ ! -x "$bin" ]; then
        echo "| $n | not built | | | | | | |" >"$dir/row"
        return 1
    fi
    [ -d "$src/tests/fuzz/corpus/$n" ] && cp -r "$src/tests/fuzz/corpus/$n/." "$dir/corpus/"
    local seeds dict=()
    seeds=$(ls "$dir/corpus" | wc -l)
    [ -f "$src/tests/fuzz/$n.dict" ] && dict=(-dict="$src/tests/fuzz/$n.dict")
    "$bin" "${dict[@]}" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1
    local rc=$?
    local runs eps added rss cov0 ft0 cov1 ft1 found
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
    added=$(sed -n 's/^stat::new_units_added: *//p' "$dir/log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$dir/log" | tail -1)
    # coverage when the seed corpus was loaded (INITED) and at the end (the last status line)
    cov0=$(grep -m1 -E 'INITED' "$dir/log" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+')
    ft0=$(grep -m1 -E 'INITED' "$dir/log" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+')
    cov1=$(grep -oE 'cov: [0-9]+' "$dir/log" | tail -1 | grep -oE '[0-9]+')
    ft1=$(grep -oE 'ft: [0-9]+' "$dir/log" | tail -1 | grep -oE '[0-9]+')
    found=$(ls "$dir/artifacts" | wc -l)
    local what=0
    if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
        what="**$found** ($(grep -m1 -oE 'ERROR: [A-Za-z]+: [a-z-]+|runtime error|timeout|out-of-memory' "$dir/log" | head -1)); $dir/artifacts"
    fi
    printf '| %s | %s | %s | %s | %s → %s | %s → %s | %s (%s seeds) | %s | %s |\n' "$n" \
        "${runs:-?}" "${eps:-?}" "$secs" "${cov0:-?}" "${cov1:-?}" "${ft0:-?}" "${ft1:-?}" \
        "${added:-?}" "$seeds" "${rss:-?}" "$what" >"$dir/row"
    [ "$what" = 0 ]
}

status=0
running=0
for n in "${names[@]}"; do
    if [ $running -ge "$jobs" ]; then
        wait -n || status=1
        running=$((running - 1))
    fi
    run_one "$n" &
    running=$((running + 1))
done
while [ $running -gt 0 ]; do
    wait -n || status=1
    running=$((running - 1))
done
echo "| target | execs | execs/s | s | cov (start → end) | ft (start → end) | inputs added | peak RSS MB | findings |"
echo "|---|---|---|---|---|---|---|---|---|"
for n in "${names[@]}"; do cat "$work/$n/row"; done
echo
echo "fuzz.sh: ${#names[@]} targets, $secs s each, $jobs at a time, load $(cut -d' ' -f1-3 /proc/loadavg):" \
    "$([ $status -eq 0 ] && echo 'no findings' || echo "FINDINGS (logs in $work)") in $SECONDS s"
[ $status -eq 0 ] && [ -z "${FUZZ_KEEP:-}" ] && rm -rf "$work"
exit $status
