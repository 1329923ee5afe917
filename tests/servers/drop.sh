#!/usr/bin/env bash
# drop.sh — removes what one test fixture made on the test servers of tests/servers/ so a run
# leaves nothing behind: the PostgreSQL schema (or the database when the spec names no schema),
# every object under the S3 prefix, the ClickHouse database. Specs as the coordinator takes them,
# "{unique}" already substituted; sqlite:/fs: specs and empty arguments are ignored.
# Credentials from the environment the servers' .env files export (PGPASSWORD,
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Failures are reported on stderr; exit 1 if any.
# Usage: tests/servers/drop.sh SPEC...
set -uo pipefail
status=0
note() { echo "tests/servers/drop.sh: $*" >&2; status=1; }
param() { sed -n "s/.*[?&]$1=\\([^&]*\\).*/\\1/p" <<<"$2"; }

drop_postgres() {
  local rest=${1#postgres://} user hostport db schema
  user=${rest%%@*}
  rest=${rest#*@}
  hostport=${rest%%/*}
  db=${rest#*/}
  db=${db%%\?*}
  schema=$(param schema "$1")
  [ -n "$schema" ] || { note "postgres spec without ?schema=, database $db left alone"; return; }
  case $schema in *[!a-zA-Z0-9_]*) note "odd schema name '$schema'"; return ;; esac
  psql -qAt "host=${hostport%:*} port=${hostport##*:} user=$user dbname=$db" \
    -c "DROP SCHEMA IF EXISTS \"$schema\" CASCADE" >/dev/null 2>&1 ||
    note "could not drop postgres schema $schema on $hostport"
}

drop_clickhouse() {
  local rest=${1#clickhouse://} db
  db=${rest#*/}
  db=${db%%\?*}
  case $db in '' | *[!a-zA-Z0-9_]*) note "odd clickhouse database name '$db'"; return ;; esac
  curl -fsS --max-time 60 "http://${rest%%/*}/" --data-binary "DROP DATABASE IF EXISTS $db" \
    >/dev/null 2>&1 || note "could not drop clickhouse database $db on ${rest%%/*}"
}

drop_s3() {
  local spec=${1#s3://} bucket prefix ep keys body md5 prev=
  bucket=${spec%%/*}
  prefix=${spec#*/}
  prefix=${prefix%%\?*}
  ep=$(param endpoint "$spec")
  [ -n "$prefix" ] && [ "$prefix" != "$spec" ] || { note "s3 spec without a prefix: bucket left alone"; return; }
  [ -n "$ep" ] || { note "s3 spec without endpoint= (only test servers are cleaned)"; return; }
  # curl before 8.x does not add x-amz-content-sha256 itself; s3rver requires it
  local -a sign=(--aws-sigv4 "aws:amz:$(param region "$spec" | grep . || echo us-east-1):s3"
    --user "${AWS_ACCESS_KEY_ID:-}:${AWS_SECRET_ACCESS_KEY:-}" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
  for _ in $(seq 1 1000); do # a page of up to 1000 keys, deleted before the next list
    keys=$(curl -fsS --max-time 60 "${sign[@]}" "$ep/$bucket?list-type=2&max-keys=1000&prefix=$prefix/") ||
      { note "could not list s3://$bucket/$prefix/"; return; }
    keys=$(grep -o '<Key>[^<]*</Key>' <<<"$keys" | sed 's/<[^>]*>//g')
    [ -n "$keys" ] || return
    [ "$keys" != "${prev:-}" ] || { note "could not delete the objects under s3://$bucket/$prefix/"; return; }
    prev=$keys
    # one DeleteObjects request per page (S3 requires its Content-MD5); its answer is not
    # trusted (s3rver deletes several keys, then answers 500): the next list checks
    body="<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">$(sed 's|.*|<Object><Key>&</Key></Object>|' <<<"$keys" | tr -d '\n')</Delete>"
    md5=$(printf %s "$body" | openssl dgst -md5 -binary | base64)
    printf %s "$body" | curl -sS --max-time 60 "${sign[@]}" -X POST -H "Content-MD5: $md5" \
      -H 'Content-Type: application/xml' --data-binary @- "$ep/$bucket?delete=" >/dev/null || true
  done
}

for spec in "$@"; do
  case $spec in
    postgres://*) drop_postgres "$spec" ;;
    clickhouse://*) drop_clickhouse "$spec" ;;
    s3://*) drop_s3 "$spec" ;;
    '' | sqlite:* | fs:*) ;;
    *) note "unknown spec '${spec%%:*}:...'" ;;
  esac
done
exit $status
