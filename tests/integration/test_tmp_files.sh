#!/usr/bin/env bash
# Regression (issue 10 #15, #16): temp files.
# - `gprofctl record -o OUT` once wrote OUT.tmp.PID with O_TRUNC, following a symlink a local
#   user planted there: now the temp name is unpredictable and created with O_EXCL|O_NOFOLLOW,
#   so the symlink's target is untouched and OUT is the profile.
# - Temp files a crash left (".NAME.PID.N.tmp") are swept when the coordinator and the agent
#   start: those of pids that are gone (and old plain ones in the agent's state directory);
#   a live writer's are kept, and so is everything else.
set -euo pipefail
. "$(dirname "$0")/agent_lib.sh"

# A pid that no longer runs, and one that does.
sh -c 'exit 0' & dead=$!; wait $dead
sleep 600 & live=$!; BG_PIDS+=("$live")

# --- record -o through a planted symlink
out=$WORK/out.col
echo "precious" > "$WORK/victim"
# `exec` keeps the pid: the symlink sits exactly where the old code put its temp file
bash -c 'ln -s "$1" "$2.tmp.$$" && exec "$3" record -q -d 1 -o "$2" -- "$4" 1' _ \
  "$WORK/victim" "$out" "$GPROFCTL" "$WL/wl_c" 2> "$WORK/record.err" \
  || { cat "$WORK/record.err"; fail "record failed"; }
[ "$(cat "$WORK/victim")" = precious ] || fail "record -o wrote through the planted symlink: $(head -c 200 "$WORK/victim")"
[ -f "$out" ] && [ ! -L "$out" ] || fail "$out is not a regular file"
head -1 "$out" | grep -q '^# {' || fail "$out is not a collapsed profile"
grep -q 'wl_c' "$out" || fail "$out has no samples of wl_c"
ls -a "$WORK" | grep -E '^\.out\.col\..*\.tmp$' && fail "record left its temp file"
ok "record -o: the planted symlink's target is untouched, the output is right"

# --- coordinator: state dir and blob dir (nested)
cstate=$WORK/cstate
day=$cstate/profiles/svc/2026-01-01
mkdir -p "$day" "$cstate/profiles/svc/adhoc"
touch "$cstate/.meta.db.$dead.1.tmp" "$day/.1_u_h.col.gz.$dead.7.tmp" \
  "$cstate/profiles/svc/adhoc/.x.html.$dead.0.tmp" "$day/.2_u_h.col.gz.$live.8.tmp" \
  "$day/3_u_h.col.gz" "$day/4_u_h.tmp"
start_coord "$cstate"
stop_coord
[ ! -e "$cstate/.meta.db.$dead.1.tmp" ] || fail "coordinator: stale temp file in the state dir kept"
[ ! -e "$day/.1_u_h.col.gz.$dead.7.tmp" ] || fail "coordinator: stale blob temp file kept"
[ ! -e "$cstate/profiles/svc/adhoc/.x.html.$dead.0.tmp" ] || fail "coordinator: stale ad hoc temp file kept"
[ -e "$day/.2_u_h.col.gz.$live.8.tmp" ] || fail "coordinator: a live writer's temp file was removed"
[ -e "$day/3_u_h.col.gz" ] && [ -e "$day/4_u_h.tmp" ] || fail "coordinator: removed a blob"
grep -q 'removed 3 stale temp files' "$WORK/coord.log" || fail "coordinator: no log line for the sweep"
ok "coordinator start sweeps stale temp files, keeps a live one"

# --- agent: state dir, adhoc/, spool/
mkdir -p "$ASTATE/adhoc" "$ASTATE/spool"
touch "$ASTATE/.profile_a.col.$dead.00ab.tmp" "$ASTATE/adhoc/.b.html.$dead.1.tmp" \
  "$ASTATE/spool/.c.$dead.2.tmp" "$ASTATE/.profile_d.col.$live.3.tmp" "$ASTATE/fresh.col.tmp"
touch -d '8 hours ago' "$ASTATE/profile_old.col.tmp"
start_agent
stop_agent
for f in .profile_a.col.$dead.00ab.tmp adhoc/.b.html.$dead.1.tmp spool/.c.$dead.2.tmp profile_old.col.tmp; do
  [ ! -e "$ASTATE/$f" ] || fail "agent: stale $f kept"
done
[ -e "$ASTATE/.profile_d.col.$live.3.tmp" ] || fail "agent: a live writer's temp file was removed"
[ -e "$ASTATE/fresh.col.tmp" ] || fail "agent: a fresh temp file without a pid was removed"
grep -q 'removed 4 stale temp files' "$WORK/agent.log" || fail "agent: no log line for the sweep"
ok "agent start sweeps stale temp files, keeps a live one"
echo PASS
