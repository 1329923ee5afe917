#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build (-DGPROF_FUZZ=ON) for a while, JOBS at a time,
# each on a scratch copy of its corpus (tests/fuzz/corpus/<name>, never modified), and prints one
# line per target: runs, coverage, corpus size. Exits 1 when any target crashed, leaked, hit UB
# or timed out; its log and the input that did it are kept and named.
# Usage: tests/fuzz/run_fuzzers.sh [--table] [--keep DIR] BUILD_DIR [SECONDS=30] [JOBS=2] [NAME...]
#   --table     a Markdown table instead (bench/fuzz.sh): executions, execs/s, coverage (cov =
#               edges, ft = features) when the seeds are loaded and at the end, inputs added,
#               peak RSS, findings
#   --keep DIR  logs, grown corpora and findings go to DIR/<name> and stay (default: a scratch
#               directory, removed unless something was found)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
table=0
keep=
while [ $# -gt 0 ]; do
  case $1 in
    --table) table=1; shift ;;
    --keep) keep=${2:?--keep needs a directory}; shift 2 ;;
    *) break ;;
  esac
done
build=${1:?usage: run_fuzzers.sh [--table] [--keep DIR] BUILD_DIR [SECONDS] [JOBS] [NAME...]}
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
if [ -n "$keep" ]; then
  mkdir -p "$keep" && work=$(cd "$keep" && pwd) || exit 2
else
  work=$(mktemp -d /tmp/gprof-fuzz.XXXXXX)
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

lf_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; } # lf_stat NAME LOG: libFuzzer's final stat
num() { grep -oE "$1: [0-9]+" | grep -oE '[0-9]+'; }  # num cov|ft < status line(s)

# run_one NAME: one target; prints its line (or writes $work/NAME/row), returns 1 on a finding
run_one() {
  local n=$1 bin=$build/tests/fuzz/fuzz_$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [ ! -x "$bin" ]; then
    echo "fuzz_$n: FAILED: $bin not built (configure with -DGPROF_FUZZ=ON -DCMAKE_C_COMPILER=clang)"
    echo "| $n | not built | | | | | | | |" >"$dir/row"
    return 1
  fi
  [ -d "$here/corpus/$n" ] && cp -r "$here/corpus/$n/." "$dir/corpus/"
  local seeds dict=()
  seeds=$(ls "$dir/corpus" | wc -l)
  [ -f "$here/$n.dict" ] && dict=(-dict="$here/$n.dict") # member names json-c would hide
  # -timeout: one input running 25 s is a hang; -rss_limit_mb: a leak or blow-up is a failure
  "$bin" "${dict[@]}" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1
  local rc=$? runs cov found
  runs=$(lf_stat number_of_executed_units "$dir/log")
  cov=$(grep -oE 'cov: [0-9]+' "$dir/log" | tail -1)
  found=$(ls "$dir/artifacts" | wc -l)
  if [ $table = 1 ]; then
    local what=0
    if [ $rc -ne 0 ] || [ "$found" -gt 0 ]; then
      what="**$found** ($(grep -m1 -oE 'ERROR: [A-Za-z]+: [a-z-]+|runtime error|timeout|out-of-memory' "$dir/log" | head -1)); $dir/artifacts"
    fi
    # coverage when the seed corpus was loaded (INITED) and at the end (the last status line)
    printf '| %s | %s | %s | %s | %s → %s | %s → %s | %s (%s seeds) | %s | %s |\n' "$n" \
      "${runs:-?}" "$(lf_stat average_exec_per_sec "$dir/log")" "$secs" \
      "$(grep -m1 INITED "$dir/log" | num cov)" "$(num cov <"$dir/log" | tail -1)" \
      "$(grep -m1 INITED "$dir/log" | num ft)" "$(num ft <"$dir/log" | tail -1)" \
      "$(lf_stat new_units_added "$dir/log")" "$seeds" "$(lf_stat peak_rss_mb "$dir/log")" "$what" >"$dir/row"
  fi
  if [ $rc -ne 0 ] || [ "$found" -gt 0 ]; then
    echo "fuzz_$n: FAILED (exit $rc) after ${runs:-?} runs, ${cov:-cov: ?}; log $dir/log, input(s):" \
      "$(ls -d "$dir"/artifacts/* 2>/dev/null | tr '\n' ' ')"
    grep -m3 -E 'ERROR|SUMMARY|runtime error' "$dir/log" | sed 's/^/    /'
    return 1
  fi
  [ $table = 1 ] || echo "fuzz_$n: ok, ${runs:-?} runs, ${cov:-cov: ?}, corpus $(ls "$dir/corpus" | wc -l) inputs"
  [ -n "$keep" ] || [ $table = 1 ] || rm -rf "$dir"
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
if [ $table = 1 ]; then
  echo "| target | execs | execs/s | s | cov (start → end) | ft (start → end) | inputs added | peak RSS MB | findings |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for n in "${names[@]}"; do cat "$work/$n/row"; done
  echo
fi
echo "fuzz: ${#names[@]} targets, ${secs} s each, $jobs at a time, load $(cut -d' ' -f1-3 /proc/loadavg):" \
  "$([ $status -eq 0 ] && echo ok || echo "FAILED (logs in $work)") in ${SECONDS} s"
[ $status -eq 0 ] && [ -z "$keep" ] && rm -rf "$work"
exit $status
