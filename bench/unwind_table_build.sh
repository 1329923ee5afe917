#!/bin/bash
# unwind_table_build.sh — CPU time, rows and bytes of the unwind tables (agent/unwind/table.c)
# of libc, libpython and any ELF given, each built in a fresh process (what the agent pays when
# it first meets a binary) and at best of 20 builds.
# Usage: bench/unwind_table_build.sh [BUILD_DIR] [ELF...]   (BUILD_DIR: a configured build, default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cmake --build "$build" --target gprof-agent >/dev/null
cc -O2 -I. bench/unwind_table_build.c "$build/agent/libgprof-agent.a" \
  "$build/common/libgprof-common.a" -lelf -lz -o "$out/uwtb"
libs=("$@")
if [[ ${#libs[@]} -eq 0 ]]; then
  libs=(/lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0)
fi
"$out/uwtb" "${libs[@]}"
