#!/bin/bash
# fetch_kernel.sh — puts Debian bullseye's 5.10 kernel (vmlinuz and its config) into a cache
# directory, fetched with apt from deb.debian.org under a private apt configuration.
#
# Usage: fetch_kernel.sh CACHE_DIR   (prints the path of the cached vmlinuz on stdout)
#
# The system's apt sources and lists are not touched: apt reads a sources.list, lists, cache and
# an empty dpkg status under CACHE_DIR/apt. apt checks the Release file's signature against
# Debian's archive keyring (debian-archive-keyring) and the .deb's SHA256 against the signed
# Packages index; a cached .deb is checked again against that index on every run.
set -euo pipefail
CACHE=${1:?usage: fetch_kernel.sh CACHE_DIR}
SUITE=${GPROF_KERNEL_SUITE:-bullseye}
MIRROR=${GPROF_KERNEL_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die() { echo "fetch_kernel: $*" >&2; exit 1; }
[ -r "$KEYRING" ] || die "$KEYRING missing: apt-get install debian-archive-keyring"
command -v apt-get > /dev/null || die "apt-get not found (a Debian host is needed to fetch the kernel)"
mkdir -p "$CACHE" || die "cannot create $CACHE"
A=$CACHE/apt
mkdir -p "$A/etc/apt.conf.d" "$A/etc/preferences.d" "$A/etc/sources.list.d" "$A/lists/partial" \
  "$A/cache/archives/partial" "$A/state"
echo "deb [signed-by=$KEYRING] $MIRROR $SUITE main" > "$A/etc/sources.list"
: > "$A/status"
APT=(-o "Dir::Etc=$A/etc" -o "Dir::Etc::SourceList=$A/etc/sources.list"
  -o "Dir::Etc::SourceParts=$A/etc/sources.list.d" -o "Dir::Etc::Parts=$A/etc/apt.conf.d"
  -o "Dir::Etc::PreferencesParts=$A/etc/preferences.d" -o "Dir::State=$A/state"
  -o "Dir::State::Lists=$A/lists" -o "Dir::State::status=$A/status" -o "Dir::Cache=$A/cache"
  -o "APT::Architecture=amd64" -o "APT::Architectures=amd64" -o "Acquire::Languages=none"
  -o "Debug::NoLocking=true" -q)

# The kernel package the suite's linux-image-amd64 depends on, and the .deb's SHA256 from the
# signed index. The lists are fetched when missing (first run) or when the cached .deb is not
# what they name.
pick() {
  PKG=$(apt-cache "${APT[@]}" show linux-image-amd64 2> /dev/null |
    awk '$1 == "Depends:" { for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-[0-9]/) { print $i; exit } }')
  [ -n "$PKG" ] || return 1
  read -r SHA FILE <<< "$(apt-cache "${APT[@]}" show "$PKG" 2> /dev/null |
    awk '$1 == "SHA256:" && !s { s = $2 } $1 == "Filename:" && !f { f = $2 } END { print s, f }')"
  [ -n "$SHA" ] && [ -n "$FILE" ]
}
update() {
  apt-get "${APT[@]}" --error-on=any update > "$A/update.log" 2>&1 ||
    { cat "$A/update.log" >&2; die "apt-get update of $SUITE from $MIRROR failed (network? see above)"; }
}
if ! pick; then update; pick || die "no linux-image-5.x package found in $SUITE's index"; fi
DEB=$CACHE/$(basename "$FILE")
if [ ! -s "$DEB" ] || ! echo "$SHA  $DEB" | sha256sum -c --quiet - > /dev/null 2>&1; then
  rm -f "$DEB"
  (cd "$CACHE" && apt-get "${APT[@]}" download "$PKG" > "$A/download.log" 2>&1) ||
    { cat "$A/download.log" >&2; die "downloading $PKG failed"; }
  [ -s "$DEB" ] || die "apt-get download left no $DEB"
  echo "$SHA  $DEB" | sha256sum -c --quiet - || die "$DEB: SHA256 does not match the signed index"
fi
# Extract vmlinuz and config once per .deb.
KDIR=$CACHE/${PKG}
if [ ! -s "$KDIR/vmlinuz" ] || [ "$KDIR/vmlinuz" -ot "$DEB" ]; then
  rm -rf "$KDIR.tmp" && mkdir -p "$KDIR.tmp"
  dpkg-deb -x "$DEB" "$KDIR.tmp/root" || die "extracting $DEB failed"
  cp "$KDIR.tmp"/root/boot/vmlinuz-* "$KDIR.tmp/vmlinuz" || die "$DEB holds no boot/vmlinuz-*"
  cp "$KDIR.tmp"/root/boot/config-* "$KDIR.tmp/config" || die "$DEB holds no boot/config-*"
  rm -rf "$KDIR.tmp/root" "$KDIR" && mv "$KDIR.tmp" "$KDIR"
fi
echo "$KDIR/vmlinuz"
