#!/usr/bin/env bash
# The commented config files the packages install (packaging/agent.conf, coordinator.conf) stay
# in sync with the programs: every key the code accepts is documented there and every key there is
# one the code accepts; with every line uncommented, the programs accept the values shown.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

code_keys() { # FILE ARRAY_NAME — the strings of a NULL-terminated C array of key names
    awk -v a="$2" '$0 ~ a"\\[\\] = \\{" { on = 1 } on { print } on && /NULL/ { exit }' "$1" |
        grep -o '"[a-z_]*"' | tr -d '"' | sort -u
}
conf_keys() { sed -n 's/^#\{0,1\}\([a-z_]*\) =.*/\1/p' "$1" | sort -u; }
check() { # NAME C_FILE ARRAY CONF
    code_keys "$2" "$3" >"$WORK/code"
    conf_keys "$4" >"$WORK/conf"
    [ -s "$WORK/code" ] || fail "no keys found in $3 of $2"
    if ! diff -u "$WORK/code" "$WORK/conf" >"$WORK/diff"; then
        cat "$WORK/diff" >&2
        fail "$4 and the keys of $2 differ (- only in the code, + only in the file)"
    fi
    echo "ok - $1: $(wc -l <"$WORK/code") keys, all documented in $(basename "$4")"
}
check agent "$SRC/agent/daemon/config.c" known_keys "$SRC/packaging/agent.conf"
check coordinator "$SRC/coordinator/config.c" coord_config_keys "$SRC/packaging/coordinator.conf"

# Every default shown is accepted: uncomment everything.
sed 's/^#\([a-z_]* =\)/\1/' "$SRC/packaging/coordinator.conf" >"$WORK/coordinator.conf"
"$BUILD/coordinator/gprof-coordinator" token list --config "$WORK/coordinator.conf" \
    --state-dir "$WORK/cstate" >"$WORK/c.log" 2>&1 || fail "coordinator.conf rejected: $(cat "$WORK/c.log")"
echo "ok - coordinator accepts every value of coordinator.conf"
# The agent validates its whole config before it looks at the coordinator URL, so an invalid
# one (a flag, over the file's) as the only error shows every other value was accepted.
sed 's/^#\([a-z_]* =\)/\1/' "$SRC/packaging/agent.conf" >"$WORK/agent.conf"
rc=0
"$BUILD/agent/gprof-agent" --config "$WORK/agent.conf" --coordinator ftp://x >"$WORK/a.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q "coordinator 'ftp://x' must start with http" "$WORK/a.log" ||
    fail "agent.conf: $(cat "$WORK/a.log")"
echo "ok - agent accepts every value of agent.conf"
