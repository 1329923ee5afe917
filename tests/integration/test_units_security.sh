#!/usr/bin/env bash
# The shipped units' `systemd-analyze security --offline=yes` exposure stays at or below the
# figures README.md documents (agent 3.1, coordinator 1.2 with systemd 252), so a unit edit that
# loosens the sandbox fails here; and the units name only settings this systemd knows.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
systemd-analyze security --help 2>/dev/null | grep -q -- '--offline' ||
    skip "systemd-analyze security has no --offline (systemd < 252)"
for spec in gprof-agent:3.1 gprof-coordinator:1.2; do
    u=${spec%%:*} max=${spec#*:}
    out=$(systemd-analyze security --offline=yes --no-pager "$SRC/systemd/$u.service" 2>&1) ||
        true
    score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    [ -n "$score" ] || fail "$u: no exposure score: $(printf '%s\n' "$out" | tail -3)"
    awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }' ||
        fail "$u.service exposure $score is above $max: $(printf '%s\n' "$out" | grep '^✗')"
    ! printf '%s\n' "$out" | grep -qi 'unknown\|ignoring' ||
        fail "$u.service: $(printf '%s\n' "$out" | grep -i 'unknown\|ignoring')"
    echo "ok - $u.service exposure $score (<= $max)"
done
