#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build (-DGPROF_FUZZ=ON) for a while, JOBS at a time,
# each on a scratch copy of its corpus (tests/fuzz/corpus/<name>, never modified), and prints one
# line per target: runs, coverage, corpus size. Exits 1 when any target crashed, leaked, hit UB
# or timed out; its log and the input that did it are kept and named.
# Usage: tests/fuzz/run_fuzzers.sh BUILD_DIR [SECONDS=30] [JOBS=2] [NAME...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run_fuzzers.sh BUILD_DIR [SECONDS] [JOBS] [NAME...]}
secs=${2:-30}
jobs=${3:-2}
shift $(($# < 3 ? $# : 3))
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for src in "$here"/fuzz_*.c; do
    n=$(basename "$src" .c)
    names+=("${n#fuzz_}")
  done
fi
work=$(mktemp -d /tmp/gprof-fuzz.XXXXXX)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() {
  local n=$1 bin=$build/tests/fuzz/fuzz_$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [ ! -x "$bin" ]; then
    echo "fuzz_$n: FAILED: $bin not built (configure with -DGPROF_FUZZ=ON -DCMAKE_C_COMPILER=clang)"
    return 1
  fi
  [ -d "$here/corpus/$n" ] && cp -r "$here/corpus/$n/." "$dir/corpus/"
  local dict=()
  [ -f "$here/$n.dict" ] && dict=(-dict="$here/$n.dict") # member names json-c would hide
  # -timeout: one input running 25 s is a hang; -rss_limit_mb: a leak or blow-up is a failure
  "$bin" "${dict[@]}" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1
  local rc=$?
  local runs cov
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$dir/log" | tail -1)
  if [ $rc -ne 0 ] || ls "$dir/artifacts" | grep -q .; then
    echo "fuzz_$n: FAILED (exit $rc) after ${runs:-?} runs, ${cov:-cov: ?}; log $dir/log, input(s):" \
      "$(ls -d "$dir"/artifacts/* 2>/dev/null | tr '\n' ' ')"
    grep -m3 -E 'ERROR|SUMMARY|runtime error' "$dir/log" | sed 's/^/    /'
    return 1
  fi
  echo "fuzz_$n: ok, ${runs:-?} runs, ${cov:-cov: ?}, corpus $(ls "$dir/corpus" | wc -l) inputs"
  rm -rf "$dir"
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
echo "fuzz: ${#names[@]} targets, ${secs} s each, $jobs at a time: $([ $status -eq 0 ] && echo ok || echo FAILED) in ${SECONDS} s"
[ $status -eq 0 ] && rm -rf "$work"
exit $status
