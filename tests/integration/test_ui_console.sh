#!/usr/bin/env bash
# test_ui_console.sh — the web UI's Hosts console with a REAL agent: the agent's heartbeats list
# its host, an ad hoc request started from the page (headless chromium, tests/browser/
# pages.test.mjs --console) shows its host's status live from pending to completed, and the
# finished session links to its flame graph.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"
browser_dir="$SRC/tests/browser"
command -v node >/dev/null || fail "node is not installed (nodejs is a test dependency)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "${CHROMIUM:-/usr/bin/chromium} missing (apt-get install chromium)"
[ -d "$browser_dir/node_modules/playwright-core" ] ||
    fail "playwright-core is not installed; run: (cd tests/browser && npm ci)"

STATE=$WORK/state
start_coord "$STATE" --auth off
burn 90
start_agent
wait_for 20 '"$GPROFCTL" status --json | grep -q "\"last_ok\": [1-9]"' || fail "no heartbeat answered"
ok "the real agent sends heartbeats"
shots=${GPROF_SCREENSHOT_DIR:-$WORK/shots}
(export HOME="$WORK/home" && mkdir -p "$HOME" && cd "$browser_dir" &&
    node pages.test.mjs --url "$H" --shots "$shots" --console "$HOSTNAME_") ||
    fail "browser test of the Hosts console failed"
grep -q "ad hoc .* started" "$WORK/agent.log" || fail "the agent did not start the ad hoc session"
ok "an ad hoc request from the console reaches completed after the agent's heartbeats"
