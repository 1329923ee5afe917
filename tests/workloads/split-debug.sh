#!/bin/bash
# split-debug.sh — moves the symbols of BINARY into a separate debug file and strips it.
# Usage: split-debug.sh buildid BINARY DEBUGDIR   -> DEBUGDIR/.build-id/ab/cdef….debug
#        split-debug.sh debuglink BINARY          -> <dir of BINARY>/.debug/<name>.debug plus a
#                                                   .gnu_debuglink section naming it
set -euo pipefail
mode=$1 bin=$2
case "$mode" in
buildid)
  dbgdir=$3
  id=$(readelf -n "$bin" | sed -n 's/.*Build ID: *//p' | head -1)
  [[ -n "$id" ]] || { echo "split-debug.sh: $bin has no build-id" >&2; exit 1; }
  mkdir -p "$dbgdir/.build-id/${id:0:2}"
  objcopy --only-keep-debug "$bin" "$dbgdir/.build-id/${id:0:2}/${id:2}.debug"
  strip --strip-all "$bin"
  ;;
debuglink)
  dir=$(dirname "$bin") name=$(basename "$bin")
  mkdir -p "$dir/.debug"
  objcopy --only-keep-debug "$bin" "$dir/.debug/$name.debug"
  strip --strip-all "$bin"
  (cd "$dir" && objcopy --add-gnu-debuglink=".debug/$name.debug" "$name")
  ;;
*)
  echo "usage: split-debug.sh buildid BINARY DEBUGDIR | debuglink BINARY" >&2
  exit 2
  ;;
esac
