#!/bin/bash
# make-minidebug.sh — turns BINARY into one whose only symbols (beyond .dynsym) live in
# .gnu_debugdata: an xz-compressed ELF holding a .symtab of the functions .dynsym lacks
# (the MiniDebugInfo layout Fedora ships). Usage: make-minidebug.sh BINARY
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D "$bin" --format=posix --defined-only | awk '{ print $1 }' | sort > "$tmp/dynsyms"
nm "$bin" --format=posix --defined-only | awk '{ if ($2 == "T" || $2 == "t") print $1 }' | sort > "$tmp/funcsyms"
comm -13 "$tmp/dynsyms" "$tmp/funcsyms" > "$tmp/keep"
objcopy --only-keep-debug "$bin" "$tmp/mini"
objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols="$tmp/keep" "$tmp/mini"
strip --strip-all -R .comment "$bin"
xz -f "$tmp/mini"
objcopy --add-section .gnu_debugdata="$tmp/mini.xz" "$bin"
