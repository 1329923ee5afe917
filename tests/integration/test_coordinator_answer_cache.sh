#!/bin/bash
# test_coordinator_answer_cache.sh — finished flame graphs are served again from memory while the
# index is unchanged (X-Gprof-Answer: cached, same bytes), never after an upload is indexed, and
# per request (format, gzip, stacksCount, filter each their own answer); answer_cache_mb=0 keeps
# none. A pruned request (minFraction) and the full one share one merge; diffs take minFraction.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"

STATE=$WORK/state
start_coord "$STATE"
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
T0=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%S)
T1=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%S)
make_numbered_bodies "$WORK/b" 3 "$NOW" 1 40
FG="$H/api/flamegraph?serviceName=svc&startTime=$T0&endTime=$T1"

get() { # OUT QUERY-SUFFIX [curl args] -> prints "cached" or "fresh"; body in OUT
    local out=$1 q=$2
    shift 2
    curl -s -D "$WORK/hdr" -o "$out" "$@" "$FG$q"
    if grep -qi '^X-Gprof-Answer: cached' "$WORK/hdr"; then echo cached; else echo fresh; fi
}
indexed() { # N: waits until the collapsed flame graph counts uploads 0..N-1 exactly
    for _ in $(seq 1 200); do
        curl -s -o "$WORK/col" "$FG&format=collapsed&stacksCount=100000"
        numbered_counts_exact "$WORK/col" "$1" quiet && return 0
        sleep 0.1
    done
    fail "uploads 0..$(($1 - 1)) not indexed: $(head -5 "$WORK/col")"
}

[ "$(send_numbered "$WORK/b" 0 10)" = 200 ] || fail "upload 0"
indexed 1
[ "$(get "$WORK/a1" '&format=compact')" = fresh ] || fail "first compact answer came from the cache"
[ "$(get "$WORK/a2" '&format=compact')" = cached ] || fail "repeated compact answer not cached"
cmp -s "$WORK/a1" "$WORK/a2" || fail "the cached answer differs from the computed one"
[ "$(jq .total "$WORK/a2")" = 42 ] || fail "total $(jq .total "$WORK/a2"), want 42"
ok "a repeated request is answered from memory, byte for byte"

# each variant of the request is its own answer
[ "$(get "$WORK/t1" '&format=flamegraph')" = fresh ] || fail "tree JSON served the compact answer"
jq -e '.name == "root" and .value == 42' "$WORK/t1" >/dev/null || fail "tree JSON wrong: $(head -c 200 "$WORK/t1")"
[ "$(get "$WORK/g1" '&format=compact' -H 'Accept-Encoding: gzip')" = fresh ] || fail "gzip'd answer served the plain one"
[ "$(gzip -dc "$WORK/g1" | md5sum)" = "$(md5sum <"$WORK/a1")" ] || fail "gzip'd answer differs"
[ "$(get "$WORK/g2" '&format=compact' -H 'Accept-Encoding: gzip')" = cached ] || fail "gzip'd answer not cached"
cmp -s "$WORK/g1" "$WORK/g2" || fail "cached gzip'd answer differs"
[ "$(get "$WORK/s1" '&format=compact&stacksCount=1')" = fresh ] || fail "stacksCount=1 served the full answer"
[ "$(jq .nodes "$WORK/s1")" -lt "$(jq .nodes "$WORK/a1")" ] || fail "stacksCount=1 did not cut"
[ "$(get "$WORK/f1" '&format=compact&filter=%7B%22hostname%22%3A%7B%22%24eq%22%3A%22nohost%22%7D%7D')" = fresh ] ||
    fail "a filtered request served the unfiltered answer"
ok "format, gzip, stacksCount and filter each have their own answer"

# an indexed upload makes every kept answer stale
[ "$(send_numbered "$WORK/b" 1 10)" = 200 ] || fail "upload 1"
indexed 2
[ "$(get "$WORK/a3" '&format=compact')" = fresh ] || fail "answer cached across an upload"
[ "$(jq .total "$WORK/a3")" = 85 ] || fail "after upload 1: total $(jq .total "$WORK/a3"), want 85"
[ "$(get "$WORK/a4" '&format=compact')" = cached ] || fail "new answer not cached"
[ "$(jq .total "$WORK/a4")" = 85 ] || fail "cached total $(jq .total "$WORK/a4"), want 85"
ok "an indexed upload invalidates kept answers"

# a pruned first paint (minFraction) and its full tree share one merge of the profile
# (merge_flight): one after the other, and at once
merges() { curl -s "$H/metrics" | awk '$1 == "gprof_query_merges_total" { print $2 }'; }
m0=$(merges)
[ -n "$m0" ] || fail "/metrics has no gprof_query_merges_total"
[ "$(get "$WORK/p1" '&format=compact&stacksCount=777&minFraction=1/10')" = fresh ] || fail "pruned answer came from the cache"
[ "$(get "$WORK/p2" '&format=compact&stacksCount=777')" = fresh ] || fail "full answer after the pruned one came from the cache"
m1=$(merges)
[ $((m1 - m0)) = 1 ] || fail "a pruned and a full request ran $((m1 - m0)) merges, want 1"
jq -e '.total == 85 and .prunedNodes > 0' "$WORK/p1" >/dev/null || fail "pruned answer: $(head -c 300 "$WORK/p1")"
[ "$(jq .nodes "$WORK/p1")" -lt "$(jq .nodes "$WORK/p2")" ] || fail "minFraction=1/10 pruned nothing"
[ "$(jq .total "$WORK/p2")" = 85 ] || fail "full answer's total $(jq .total "$WORK/p2"), want 85"
curl -s -o "$WORK/c1" "$FG&format=compact&stacksCount=778&minFraction=1/10" &
c1=$!
curl -s -o "$WORK/c2" "$FG&format=compact&stacksCount=778" &
c2=$!
wait "$c1" "$c2"
m2=$(merges)
[ $((m2 - m1)) = 1 ] || fail "a pruned and a full request at once ran $((m2 - m1)) merges, want 1"
cmp -s "$WORK/c1" "$WORK/p1" && cmp -s "$WORK/c2" "$WORK/p2" || fail "answers of a shared merge differ"
ok "a pruned request and the full one share one merge"

# the diff endpoint is cached the same way
D="/diff?serviceName=svc&startTime=$T0&endTime=$T1&compareStartTime=$T0&compareEndTime=$NOW"
curl -s -D "$WORK/hdr" -o "$WORK/d1" "$H/api/flamegraph$D"
! grep -qi '^X-Gprof-Answer' "$WORK/hdr" || fail "first diff cached"
curl -s -D "$WORK/hdr" -o "$WORK/d2" "$H/api/flamegraph$D"
grep -qi '^X-Gprof-Answer: cached' "$WORK/hdr" || fail "repeated diff not cached"
cmp -s "$WORK/d1" "$WORK/d2" || fail "cached diff differs"
ok "diffs too"

# minFraction on a diff: nodes under the share of max(before, after) go, the kept values (both
# sides) still count them
curl -s -o "$WORK/d3" "$H/api/flamegraph$D&format=compact&minFraction=1/10"
curl -s -o "$WORK/d4" "$H/api/flamegraph$D&format=compact"
jq -e '.diff and .prunedNodes > 0 and (.self | length) == .nodes' "$WORK/d3" >/dev/null || fail "pruned diff: $(head -c 300 "$WORK/d3")"
[ "$(jq -c '[.total, .totalBefore, .value[0], .before[0]]' "$WORK/d3")" = "$(jq -c '[.total, .totalBefore, .value[0], .before[0]]' "$WORK/d4")" ] ||
    fail "pruned diff's totals differ from the full diff's"
[ "$(jq .nodes "$WORK/d3")" -lt "$(jq .nodes "$WORK/d4")" ] || fail "minFraction=1/10 pruned nothing of the diff"
code=$(curl -s -o "$WORK/d5" -w '%{http_code}' "$H/api/flamegraph$D&minFraction=2")
[ "$code" = 400 ] && grep -q minFraction "$WORK/d5" || fail "minFraction=2 on a diff: HTTP $code $(cat "$WORK/d5")"
ok "diffs take minFraction"

stop_coord
PORT=
start_coord "$STATE" --set answer_cache_mb=0
FG="$H/api/flamegraph?serviceName=svc&startTime=$T0&endTime=$T1"
[ "$(get "$WORK/n1" '&format=compact')" = fresh ] || fail "answer_cache_mb=0: cached"
[ "$(get "$WORK/n2" '&format=compact')" = fresh ] || fail "answer_cache_mb=0: repeat cached"
cmp -s "$WORK/n1" "$WORK/a4" || fail "answer after a restart differs"
ok "answer_cache_mb=0 keeps nothing"
stop_coord
