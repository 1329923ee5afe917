# lib.sh — helpers shared by the benchmark scripts (sourced, not run): the in-kernel run time of
# the BPF programs a profiler loaded (kernel.bpf_stats_enabled must be 1 while it runs).

# One snapshot before the profiler starts and one just before it stops (a poller would start a
# bpftool process every few hundred ms, which a host-wide profiler would then have to profile
# and symbolize); a program that appeared after the baseline counts with the run_time_ns /
# run_cnt it reached.
bpf_snapshot() { bpftool -j prog show 2>/dev/null || echo '[]'; }
bpf_delta() { # baseline snapshots -> "run_ns run_cnt"
  jq -rn --slurpfile a "$1" --slurpfile b "$2" '($a[0] | map(.id)) as $base
    | [$b[][] | select(.type == "perf_event" and ((.id as $i | $base | index($i)) == null))]
    | group_by(.id) | map({ns: (map(.run_time_ns // 0) | max), cnt: (map(.run_cnt // 0) | max)})
    | "\(map(.ns) | add // 0) \(map(.cnt) | add // 0)"'
}

# The ids of the BPF programs that processes PID... (and their children) hold open, from
# /proc/PID/fdinfo: on a shared host, other profilers' programs are not counted.
bpf_owned_ids() { # PID... -> JSON array of program ids
  local p kids=()
  for p in "$@"; do kids+=("$p" $(pgrep -P "$p" || true)); done
  for p in "${kids[@]}"; do cat /proc/"$p"/fdinfo/* 2>/dev/null || true; done |
    awk '/^prog_id:/ { print $2 }' | sort -un | jq -sc .
}
bpf_owned() { # SNAPSHOT IDS -> "run_ns samples": run time of all those programs (tracepoints
  # too), runs of the perf_event ones (the samples)
  jq -rn --slurpfile s "$1" --argjson ids "$2" '[$s[0][] | select(.id as $i | $ids | index($i))]
    | "\(map(.run_time_ns // 0) | add // 0) \(map(select(.type == "perf_event") | .run_cnt // 0) | add // 0)"'
}
