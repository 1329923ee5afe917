#!/usr/bin/env bash
# test_binary_layers.sh — each program carries only its own layers: the web app (app.js) is
# embedded into gprof-coordinator alone (the agent and gprofctl hold just the flame graph viewer
# that common/html.c inlines), gprofctl loads libcurl lazily (no DT_NEEDED) and only the
# coordinator, which inflates uploads, needs libdeflate.
set -euo pipefail
: "${GPROF_BUILD_DIR:?set by ctest}" "${GPROF_SOURCE_DIR:?set by ctest}"
B=$GPROF_BUILD_DIR
CTL=$B/cli/gprofctl AGENT=$B/agent/gprof-agent COORD=$B/coordinator/gprof-coordinator
for f in "$CTL" "$AGENT" "$COORD"; do
    [ -x "$f" ] || { echo "FAIL: missing $f (build first)"; exit 1; }
done
command -v readelf >/dev/null || { echo "FAIL: readelf missing (binutils is a build dependency)"; exit 1; }
fail() { echo "FAIL: $*"; exit 1; }
needed() { readelf -d "$1" | grep NEEDED || true; }
syms() { nm "$1" | awk '{print $NF}'; }
# has PATTERN TEXT: grep on text already read (grep -q in a pipe would cut it: pipefail)
has() { grep -q "$1" <<<"$2"; }

# The app's own symbol table holds every UI file; the viewer's only what HTML pages inline.
has "^gp_app_assets$" "$(syms "$COORD")" || fail "gprof-coordinator does not embed the web app"
for f in "$CTL" "$AGENT"; do
    ! has "^gp_app_assets$" "$(syms "$f")" || fail "$(basename "$f") embeds the web app"
    has "^gp_viewer_assets$" "$(syms "$f")" || fail "$(basename "$f") lacks the HTML viewer"
    # the app's script text itself (its first line) is absent, not just the table name
    first=$(grep -m1 -v '^[[:space:]]*$' "$GPROF_SOURCE_DIR/ui-static/app.js")
    ! grep -qF -- "$first" "$f" || fail "$(basename "$f") carries app.js"
done
echo "ok - the web app is embedded into gprof-coordinator only"

! has libcurl "$(needed "$CTL")" || fail "gprofctl links libcurl (it must load it on first use)"
has libcurl "$(needed "$AGENT")" || fail "gprof-agent does not link libcurl"
for f in "$CTL" "$AGENT"; do
    ! has libdeflate "$(needed "$f")" || fail "$(basename "$f") links libdeflate"
done
echo "ok - gprofctl loads libcurl lazily; libdeflate only where uploads are inflated"
