#!/bin/bash
# test_coordinator_perfspect.sh — a profile whose header carries a PerfSpect report (`htmlblob`:
# base64 of gzip'd HTML, as gProfiler sends it) keeps it beside the profile: the newest report
# per host is served by GET /api/metrics/html_metadata, the stored profile no longer holds the
# blob, and a malformed blob never costs the profile. Errors: 400 without a host, 404, 406.
set -euo pipefail
. "$(dirname "$0")/coordinator_lib.sh"
STATE=$WORK/state
start_coord "$STATE"

report() { printf '<html><body>%s</body></html>' "$1" | gzip -c | base64 -w0; }
profile() { # FILE HOST HTMLBLOB
    printf '# {"metadata":{"hostname":"%s","run_arguments":{"service_name":"ps"}},"hwmetrics":{"CPI":"1.25"},"htmlblob":"%s"}\n0;;app;main;hot 10\n' "$2" "$3" > "$1"
}
NOW=$(date -u +%Y-%m-%dT%H:%M:%S)
LATER=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%S)
profile "$WORK/p1.col" h1 "$(report 'first report')"
profile "$WORK/p2.col" h1 "$(report 'hardware counters not available on this host: test')"
profile "$WORK/p3.col" h2 'not base64 at all!'
make_body "$WORK/b1.gz" "$NOW" h1 "$WORK/p1.col"
make_body "$WORK/b2.gz" "$LATER" h1 "$WORK/p2.col"
make_body "$WORK/b3.gz" "$NOW" h2 "$WORK/p3.col"
for b in b1 b2 b3; do
    r=$(upload "$WORK/$b.gz" ps h1 none -H "X-Gprof-Upload-Id: up-$b")
    [ "${r%% *}" = 200 ] || fail "upload $b: $r"
done
ok "uploads with htmlblob (one malformed) all accepted"

F='{"filter":{"$and":[{"HostName":{"$eq":"h1"}}]}}'
curl -s -G "$H/api/metrics/html_metadata" --data-urlencode serviceName=ps --data-urlencode "filter=$F" > "$WORK/r.json"
jq -e '.content | contains("hardware counters not available on this host")' "$WORK/r.json" > /dev/null \
    || fail "html_metadata is not the newest report: $(head -c 200 "$WORK/r.json")"
jq -e '.hostname == "h1" and (.filename | endswith(".html"))' "$WORK/r.json" > /dev/null || fail "html_metadata fields"
ok "html_metadata serves the newest report of h1"
code=$(curl -s -o /dev/null -w '%{http_code}' "$H/api/metrics/html_metadata?serviceName=ps&hostname=h1")
[ "$code" = 200 ] || fail "hostname= form: $code"
# The newest report is found through perfspect/ps/h1/latest (its name), not by listing the
# host's reports (slow on S3): a report file that only a listing would see is not served.
latest=$(blob_cat "$STATE" perfspect/ps/h1/latest) || fail "no perfspect/ps/h1/latest"
[ "perfspect/ps/h1/$(jq -r .filename "$WORK/r.json")" = "$latest" ] || fail "latest names $latest"
printf '<html>only a listing finds this</html>' >"$WORK/listed.html"
blob_put "$STATE" perfspect/ps/h1/9999-12-31T00-00-00_x.html "$WORK/listed.html" || fail "cannot store the decoy report"
curl -s "$H/api/metrics/html_metadata?serviceName=ps&hostname=h1" | jq -e '.content | contains("hardware counters")' >/dev/null \
    || fail "html_metadata listed the reports instead of reading latest"
ok "the newest report is read through perfspect/<service>/<host>/latest, without a listing"
code=$(curl -s -o "$WORK/e.json" -w '%{http_code}' "$H/api/metrics/html_metadata?serviceName=ps")
[ "$code" = 400 ] && grep -q "needs one host" "$WORK/e.json" || fail "no host: $code $(cat "$WORK/e.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$H/api/metrics/html_metadata?serviceName=ps&hostname=h2")
[ "$code" = 404 ] || fail "malformed report stored anyway: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$H/api/metrics/html_metadata?serviceName=nope&hostname=h1")
[ "$code" = 406 ] || fail "unknown service: $code"
ok "400 without a host, 404 without a report, 406 for an unknown service"
grep -q "PerfSpect report (htmlblob) not stored: invalid base64" "$WORK/coord.log" || fail "malformed blob not logged"
blob_texts "$STATE" "$WORK/stored.txt"
[ -s "$WORK/stored.txt" ] || fail "no stored profile found"
grep -q 'hwmetrics' "$WORK/stored.txt" || fail "stored profiles lost hwmetrics"
if grep -qa "htmlblob" "$WORK/stored.txt" || { [ "${GPROF_TEST_FLEET:-0}" != 1 ] && grep -rqa "htmlblob" "$STATE/profiles"; }; then
    fail "a stored profile still carries the htmlblob"
fi
ok "stored profiles keep hwmetrics but not the blob"
stop_coord
echo "PASS"
