#!/usr/bin/env bash
# Acceptance (issue 2): the HTML written by `gprofctl record` of a real workload opens in headless
# Debian chromium with the network off, draws a non-empty canvas, and a search finds the hot
# function with the share the collapsed output says (tests/browser/viewer.test.mjs).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
command -v node > /dev/null || fail "node is not installed (scripts/install-deps.sh)"
[ -d "$SRC/tests/browser/node_modules/playwright-core" ] || fail "run (cd tests/browser && npm ci)"
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
export HOME=$tmp
"$WL/burn" -d 8 -t 1 > /dev/null &
bpid=$!
sleep 0.3
# Without -o one recording is written twice: .html and .col of the same samples.
(cd "$tmp" && "$GPROFCTL" record -q --pid $bpid -d 3 -F 499 > "$tmp/paths" 2> "$tmp/err") || { cat "$tmp/err"; fail "record"; }
kill $bpid 2>/dev/null || true
html=$tmp/$(grep '\.html$' "$tmp/paths") col=$tmp/$(grep '\.col$' "$tmp/paths")
node "$SRC/tests/browser/viewer.test.mjs" --small "$html" --col "$col" --hot hot_a --cold hot_b \
  || fail "the recorded flame graph did not pass the browser checks"
echo "PASS"
