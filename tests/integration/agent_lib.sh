# agent_lib.sh — helpers sourced by tests/integration/test_agent*.sh: a real gprof-coordinator
# (coordinator_lib.sh) plus the real gprof-agent (root, BPF) with short sessions; waiting,
# counting what arrived, and reading the coordinator's store.
. "$(dirname "$0")/coordinator_lib.sh"
AGENT=$BIN/agent/gprof-agent
GPROFCTL=$BIN/cli/gprofctl
WL=$BUILD/tests/workloads
[ -x "$AGENT" ] || fail "$AGENT not built"
[ -x "$GPROFCTL" ] || fail "$GPROFCTL not built"
AGENT_PID=
BG_PIDS=()

skip() {
    if [ "${GPROF_REQUIRE_BPF:-0}" = 1 ]; then fail "would skip, but BPF is required here: $*"; fi
    echo "SKIP: $*" >&2
    exit 77
}
[ "$(id -u)" -eq 0 ] || skip "the agent needs root (BPF, perf_event)"
[ -e /sys/kernel/btf/vmlinux ] || skip "no BTF: the BPF sampler cannot load"

agent_cleanup() {
    if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
        # sanitized: a clean stop (SIGTERM), so LeakSanitizer checks the agent too; it finishes
        # its sessions (-d 3) and tries the spool once (5 s): 30 s at most, then SIGKILL
        sanitized_stop "$AGENT_PID" 30 ||
            echo "agent_cleanup: the agent did not stop within 30 s of SIGTERM" >&2
        kill -9 "$AGENT_PID" 2>/dev/null || true
        wait "$AGENT_PID" 2>/dev/null || true
    fi
    for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    if [ "$FAILS" != 0 ] && [ -f "$WORK/agent.log" ]; then
        echo "--- agent.log (tail)" >&2
        tail -40 "$WORK/agent.log" >&2
    fi
    cleanup
}
trap agent_cleanup EXIT

SOCK=$WORK/agent.sock
export GPROF_AGENT_SOCKET=$SOCK
ASTATE=$WORK/agent-state
SERVICE=${SERVICE:-agentsvc}
HOSTNAME_=gprof-test-$$

# start_agent [extra flags...] — with the coordinator at $H when set; BPF sampler required
start_agent() {
    local coord=()
    [ -n "${H:-}" ] && coord=(--coordinator "$H")
    "$AGENT" "${coord[@]}" --service "$SERVICE" --hostname "$HOSTNAME_" --state-dir "$ASTATE" \
        --control-socket "$SOCK" --sampler bpf -d 3 --heartbeat-interval 1 "$@" \
        >>"$WORK/agent.log" 2>&1 &
    AGENT_PID=$!
    for _ in $(seq 1 100); do
        [ -S "$SOCK" ] && "$GPROFCTL" status >/dev/null 2>&1 && return 0
        if ! kill -0 "$AGENT_PID" 2>/dev/null; then
            if grep -qiE "bpf|perf_event|permission" "$WORK/agent.log"; then
                skip "the agent cannot sample here: $(tail -2 "$WORK/agent.log")"
            fi
            fail "agent exited at start: $(tail -5 "$WORK/agent.log")"
        fi
        sleep 0.1
    done
    fail "agent did not open its control socket"
}

stop_agent() { # [signal] — sets AGENT_RC
    kill -"${1:-TERM}" "$AGENT_PID"
    AGENT_RC=0
    wait "$AGENT_PID" || AGENT_RC=$?
    AGENT_PID=
}

# wait_for SECONDS 'shell condition' — polls every 0.2 s
wait_for() {
    local t=$1
    shift
    local end=$((SECONDS + t))
    while [ $SECONDS -lt $end ]; do
        if eval "$@"; then return 0; fi
        sleep 0.2
    done
    return 1
}

# a CPU-bound workload (one thread) in the background; sets WPID
burn() {
    "$WL/burn" -d "${1:-60}" -t 1 >/dev/null 2>&1 &
    WPID=$!
    BG_PIDS+=("$WPID")
}

# an idle process in the background; sets WPID
idle() {
    sleep "${1:-120}" &
    WPID=$!
    BG_PIDS+=("$WPID")
}

sql() { # QUERY -> rows (| separated) from the coordinator's metadata store
    python3 - "$STATE/meta.db" "$1" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=10)
for row in c.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
PY
}

local_sessions() { ls "$ASTATE/results" 2>/dev/null | grep -c '^profile_.*\.col$' || true; }
local_samples() { # sum of samples over the local continuous results
    local f=("$ASTATE"/results/profile_*.col)
    [ -e "${f[0]}" ] || { echo 0; return; }
    awk '!/^# / && NF { s += $NF } END { print s + 0 }' "${f[@]}"
}
coord_continuous() { sql "SELECT count(*) FROM profiles WHERE continuous = 1 AND hostname = '$HOSTNAME_'"; }
# total samples the coordinator serves for the service over the last day
coord_samples() {
    local t0 t1
    t0=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%S)
    t1=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%S)
    curl -s "$H/api/flamegraph?serviceName=$SERVICE&startTime=$t0&endTime=$t1" |
        python3 -c 'import json,sys
t = sys.stdin.read()
print(json.loads(t)["value"] if t.strip() else 0)'
}
# waits until the indexer has caught up and every continuous session is served exactly once
coord_matches_local() {
    [ "$(coord_continuous)" = "$(local_sessions)" ] && [ "$(coord_samples)" = "$(local_samples)" ]
}

request() { # JSON -> response
    curl -s -X POST "$H/api/metrics/profile_request" -H 'Content-Type: application/json' -d "$1"
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
req_json() { curl -s "$H/api/metrics/profile_request?request_id=$1"; }
exec_field() { # REQUEST_ID EXPR-over-e (first execution)
    req_json "$1" | python3 -c "import json,sys
d=json.load(sys.stdin); ex=d.get('executions') or [{}]; e=ex[0]; print($2)"
}
