#!/usr/bin/env bash
# The .deb and .rpm packages (issue 15): scripts/package.sh over the existing build tree; lintian
# and rpmlint without errors; the files, conffiles, dependencies and scripts each package
# declares; both .debs installed into a fresh root (a copy-on-write overlay of this Debian 12
# system: see packaging/README.md), where the installed binaries run, the installed agent sends
# READY=1 and WATCHDOG=1 to a NOTIFY_SOCKET and the installed coordinator serves the UI from
# /usr/share/gprof/ui; an upgrade keeps an edited conffile; remove keeps state, purge removes it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need_root
for t in dpkg-deb dpkg-shlibdeps rpm rpmbuild rpmlint lintian python3 curl; do
    command -v "$t" >/dev/null || skip "$t is missing (scripts/install-deps.sh installs it)"
done
[ -x "$BUILD/agent/gprof-agent" ] || fail "build the tree first"
WORK=$(mktemp -d /dev/shm/gprof-pkg-test.XXXXXX) # upper layer of the root: not on /'s filesystem
R=$WORK/root
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for m in dev/pts dev proc sys; do umount -l "$R/$m" 2>/dev/null || true; done
    umount -l "$R" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ok() { echo "ok - $*"; }

version=$(sed -n 's/^project(gprof VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$version" ] || fail "no project(VERSION) in CMakeLists.txt"

# ---- build: reuses $BUILD (only the package docs and cpack run when the binaries are fresh)
BUILD_DIR=$BUILD "$SRC/scripts/package.sh" "$WORK/pkgs" >"$WORK/package.log" 2>&1 ||
    { cat "$WORK/package.log" >&2; fail "scripts/package.sh"; }
adeb=$(ls "$WORK"/pkgs/gprof-agent_*.deb) cdeb=$(ls "$WORK"/pkgs/gprof-coordinator_*.deb)
arpm=$(ls "$WORK"/pkgs/gprof-agent-*.rpm) crpm=$(ls "$WORK"/pkgs/gprof-coordinator-*.rpm)
for d in "$adeb" "$cdeb"; do
    v=$(dpkg-deb -f "$d" Version)
    [ "$v" = "$version-1" ] || fail "$(basename "$d") version $v, project VERSION $version"
done
for r in "$arpm" "$crpm"; do
    v=$(rpm -qp --qf '%{VERSION}-%{RELEASE}' "$r" 2>/dev/null)
    [ "$v" = "$version-1" ] || fail "$(basename "$r") version $v, project VERSION $version"
done
ok "4 packages, version $version-1 from project(VERSION)"

# ---- contents
has() { # LISTING_FILE PATH... — every path is listed
    local l=$1
    shift
    for p in "$@"; do grep -qxF "$p" "$l" || fail "$(basename "$l"): no $p"; done
}
dpkg-deb -c "$adeb" | awk '{ sub(/^\./, "", $6); print $6 }' >"$WORK/adeb.list"
dpkg-deb -c "$cdeb" | awk '{ sub(/^\./, "", $6); print $6 }' >"$WORK/cdeb.list"
has "$WORK/adeb.list" /usr/sbin/gprof-agent /usr/bin/gprofctl /lib/systemd/system/gprof-agent.service \
    /etc/gprof/agent.conf /usr/lib/tmpfiles.d/gprof.conf /usr/share/doc/gprof-agent/copyright \
    /usr/share/doc/gprof-agent/changelog.Debian.gz /usr/share/doc/gprof-agent/gprof-agent.txt \
    /usr/share/doc/gprof-agent/gprofctl.txt
has "$WORK/cdeb.list" /usr/bin/gprof-coordinator /lib/systemd/system/gprof-coordinator.service \
    /etc/gprof/coordinator.conf /usr/share/gprof/ui/index.html /usr/share/doc/gprof-coordinator/copyright \
    /usr/share/doc/gprof-coordinator/changelog.Debian.gz
n_ui=$(cd "$SRC/ui-static" && find . -name '*.html' -o -name '*.js' -o -name '*.css' | wc -l)
[ "$(grep -c '^/usr/share/gprof/ui/.*\.\(html\|js\|css\)$' "$WORK/cdeb.list")" = "$n_ui" ] ||
    fail "the coordinator .deb lacks some of the $n_ui UI files"
dpkg-deb -e "$adeb" "$WORK/actl" && dpkg-deb -e "$cdeb" "$WORK/cctl"
[ "$(cat "$WORK/actl/conffiles")" = /etc/gprof/agent.conf ] || fail "agent conffiles"
[ "$(cat "$WORK/cctl/conffiles")" = /etc/gprof/coordinator.conf ] || fail "coordinator conffiles"
for lib in libbpf1 libsystemd0 libjson-c5 libcurl; do
    dpkg-deb -f "$adeb" Depends | grep -q "$lib" || fail "gprof-agent Depends lacks $lib"
done
for lib in libmicrohttpd12 libsqlite3-0 libssl3; do
    dpkg-deb -f "$cdeb" Depends | grep -q "$lib" || fail "gprof-coordinator Depends lacks $lib"
done
# Depends resolve from the Debian 12 archive for a system that has nothing installed (apt's
# solver over an empty dpkg status; the package lists come from apt-get update).
if ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    : >"$WORK/empty-status"
    (cd "$WORK" && apt-get install -s -o Dir::State::Status="$WORK/empty-status" "$adeb" "$cdeb") \
        >"$WORK/apt-s.log" 2>&1 || { tail -20 "$WORK/apt-s.log" >&2; fail "Depends do not resolve"; }
    for p in libbpf1 libmicrohttpd12 libsystemd0; do
        grep -q "^Inst $p " "$WORK/apt-s.log" || fail "apt would not install $p for the packages"
    done
    closure="; an empty Debian 12 gets $(grep -c '^Inst' "$WORK/apt-s.log") packages with them"
else
    closure="; no apt package lists here (apt-get update), so the closure is not checked"
fi
ok ".debs: files, conffiles, dpkg-shlibdeps Depends$closure"

rpm -qpl "$arpm" >"$WORK/arpm.list" 2>/dev/null
rpm -qpl "$crpm" >"$WORK/crpm.list" 2>/dev/null
has "$WORK/arpm.list" /usr/sbin/gprof-agent /usr/bin/gprofctl /usr/lib/systemd/system/gprof-agent.service \
    /etc/gprof/agent.conf /usr/lib/tmpfiles.d/gprof.conf
has "$WORK/crpm.list" /usr/bin/gprof-coordinator /usr/lib/systemd/system/gprof-coordinator.service \
    /etc/gprof/coordinator.conf /usr/share/gprof/ui/index.html
[ "$(rpm -qpc "$arpm" 2>/dev/null)" = /etc/gprof/agent.conf ] || fail "agent.conf is not %config"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$arpm" 2>/dev/null |
    grep -qx 'cn /etc/gprof/agent.conf' || fail "agent.conf is not %config(noreplace)"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$crpm" 2>/dev/null |
    grep -qx 'cn /etc/gprof/coordinator.conf' || fail "coordinator.conf is not %config(noreplace)"
for lib in libbpf.so.1 libsystemd.so.0 libjson-c.so.5; do
    rpm -qpR "$arpm" 2>/dev/null | grep -q "^$lib" || fail "gprof-agent.rpm requires no $lib"
done
for lib in libmicrohttpd.so.12 libsqlite3.so.0 libcrypto.so.3; do
    rpm -qpR "$crpm" 2>/dev/null | grep -q "^$lib" || fail "gprof-coordinator.rpm requires no $lib"
done
rpm -qp --scripts "$arpm" 2>/dev/null | grep -q 'systemctl try-restart gprof-agent.service' ||
    fail "gprof-agent.rpm has no restart on upgrade"
ok ".rpms: files, %config(noreplace), automatic requires, scriptlets"

# ---- linters: no errors (warnings are listed and justified in packaging/README.md)
for d in "$adeb" "$cdeb"; do
    lintian --fail-on error "$d" \
        >"$WORK/lintian.log" 2>&1 || { cat "$WORK/lintian.log" >&2; fail "lintian $(basename "$d")"; }
    ! grep -q '^E:' "$WORK/lintian.log" || { cat "$WORK/lintian.log" >&2; fail "lintian errors"; }
done
ok "lintian: no errors"
for r in "$arpm" "$crpm"; do
    rpmlint -r "$SRC/packaging/rpmlintrc" "$r" >"$WORK/rpmlint.log" 2>&1 || true
    grep -q ' 0 errors' "$WORK/rpmlint.log" || { cat "$WORK/rpmlint.log" >&2; fail "rpmlint $(basename "$r")"; }
done
ok "rpmlint: no errors"

# ---- a fresh root: overlay over this system's / (its own /etc, /var, /usr upper layer), no systemd
mkdir -p "$R" "$WORK/upper" "$WORK/ovlwork"
mount -t overlay overlay -o "lowerdir=/,upperdir=$WORK/upper,workdir=$WORK/ovlwork" "$R"
mkdir -p "$R/tmp/pkgs" && cp "$adeb" "$cdeb" "$R/tmp/pkgs/"
rm -rf "$R/var/lib/gprof-agent" "$R/var/lib/gprof-coordinator" "$R/var/lib/private/gprof-coordinator" \
    "$R/etc/gprof" "$R/run/systemd/system"
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
in_root dpkg -i /tmp/pkgs/"$(basename "$adeb")" /tmp/pkgs/"$(basename "$cdeb")" >"$WORK/dpkg.log" 2>&1 ||
    { cat "$WORK/dpkg.log" >&2; fail "dpkg -i into the fresh root"; }
grep -q 'token create --service' "$WORK/dpkg.log" || fail "no first-install message: $(cat "$WORK/dpkg.log")"
for u in gprof-agent gprof-coordinator; do
    [ -L "$R/etc/systemd/system/multi-user.target.wants/$u.service" ] || fail "$u not enabled"
done
[ "$(in_root /usr/sbin/gprof-agent --version)" = "gprof-agent $version" ] || fail "gprof-agent --version"
in_root /usr/bin/gprofctl --help | grep -q '^usage\|gprofctl' || fail "gprofctl --help"
[ "$(in_root /usr/bin/gprof-coordinator --version)" = "gprof-coordinator $version" ] ||
    fail "gprof-coordinator --version: $(in_root /usr/bin/gprof-coordinator --version 2>&1)"
ok "installed into a fresh root (enabled, not started: no systemd there); the binaries run"

# ---- the installed binaries under a test NOTIFY_SOCKET, inside the root
for m in proc sys dev dev/pts; do mount --rbind "/$m" "$R/$m"; done
notify_listen() { # SOCKET OUT — records every datagram; sets LPID
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode() + "\n--\n"); f.flush()' "$1" "$2" &
    LPID=$!
    disown "$LPID" # killed in cleanup, without bash's "Killed" report
    PIDS+=("$LPID")
    for _ in $(seq 50); do [ -S "$1" ] && return; sleep 0.1; done
    fail "notify listener did not start"
}
wait_grep() { # SECONDS PATTERN FILE
    local end=$((SECONDS + $1))
    while [ $SECONDS -lt $end ]; do grep -q "$2" "$3" 2>/dev/null && return 0; sleep 0.2; done
    return 1
}
mkdir -p "$R/run/gprof"
notify_listen "$R/run/agent-notify.sock" "$WORK/agent.notify"
chroot "$R" env -i PATH=/usr/bin:/bin NOTIFY_SOCKET=/run/agent-notify.sock \
    /usr/sbin/gprof-agent --config /etc/gprof/agent.conf --state-dir /var/lib/gprof-agent -d 2 \
    >"$WORK/agent.log" 2>&1 &
APID=$!
PIDS+=("$APID")
wait_grep 30 '^READY=1' "$WORK/agent.notify" || fail "agent sent no READY=1: $(tail -5 "$WORK/agent.log")"
wait_grep 30 '^WATCHDOG=1' "$WORK/agent.notify" || fail "agent sent no WATCHDOG=1"
kill -TERM "$APID"
wait "$APID" || fail "agent exited with $? on SIGTERM: $(tail -5 "$WORK/agent.log")"
ok "installed agent: READY=1 and WATCHDOG=1 on NOTIFY_SOCKET"

# The UI comes from /usr/share/gprof/ui (ui_dir in the shipped coordinator.conf): a marker
# added there is served.
echo "<!-- served from /usr/share/gprof/ui $$ -->" >>"$R/usr/share/gprof/ui/index.html"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
notify_listen "$R/run/coord-notify.sock" "$WORK/coord.notify"
chroot "$R" env -i PATH=/usr/bin:/bin NOTIFY_SOCKET=/run/coord-notify.sock \
    /usr/bin/gprof-coordinator --config /etc/gprof/coordinator.conf --listen "127.0.0.1:$port" \
    --state-dir /var/lib/gprof-coordinator >"$WORK/coord.log" 2>&1 &
CPID=$!
PIDS+=("$CPID")
wait_grep 30 '^READY=1' "$WORK/coord.notify" || fail "coordinator sent no READY=1: $(tail -5 "$WORK/coord.log")"
curl -fs "http://127.0.0.1:$port/" | grep -q "served from /usr/share/gprof/ui $$" ||
    fail "the coordinator does not serve /usr/share/gprof/ui/index.html"
f=$(cd "$R/usr/share/gprof/ui" && find . -name '*.js' -path './pages/*' | head -1)
curl -fs "http://127.0.0.1:$port/ui/${f#./}" | cmp -s - "$R/usr/share/gprof/ui/${f#./}" ||
    fail "/ui/${f#./} differs from the installed file"
kill -TERM "$CPID"
wait "$CPID" || fail "coordinator exited with $? on SIGTERM"
ok "installed coordinator: READY=1, serves its UI from /usr/share/gprof/ui"
for m in dev/pts dev proc sys; do umount -l "$R/$m"; done

# ---- upgrade to a rebuilt package whose conffiles changed: the edited one is kept, the other
# one follows the package
echo "log_level = debug # edited by the admin" >>"$R/etc/gprof/agent.conf"
repack() { # DEB OUT — the same package as release 2 with a line added to its conffile
    local d=$WORK/repack
    rm -rf "$d" && dpkg-deb -R "$1" "$d"
    sed -i "s/^Version: .*/Version: $version-2/" "$d/DEBIAN/control"
    echo "# changed in $version-2" >>"$d$(cat "$d/DEBIAN/conffiles")"
    (cd "$d" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z |
        xargs -0 md5sum | sed 's#  \./#  #' >DEBIAN/md5sums)
    dpkg-deb --root-owner-group -b "$d" "$2" >/dev/null
}
repack "$adeb" "$R/tmp/pkgs/agent2.deb"
repack "$cdeb" "$R/tmp/pkgs/coord2.deb"
in_root dpkg --force-confdef --force-confold -i /tmp/pkgs/agent2.deb /tmp/pkgs/coord2.deb \
    >"$WORK/dpkg2.log" 2>&1 || { cat "$WORK/dpkg2.log" >&2; fail "upgrade"; }
[ "$(in_root dpkg-query -W -f '${Version}' gprof-agent)" = "$version-2" ] || fail "not upgraded"
grep -q '^log_level = debug # edited by the admin' "$R/etc/gprof/agent.conf" ||
    fail "the upgrade lost the edit of agent.conf"
grep -q "changed in $version-2" "$R/etc/gprof/agent.conf.dpkg-dist" ||
    fail "the new agent.conf is not beside it as agent.conf.dpkg-dist"
grep -q "changed in $version-2" "$R/etc/gprof/coordinator.conf" ||
    fail "the unedited coordinator.conf did not follow the package"
ok "upgrade: the edited agent.conf kept, the unedited coordinator.conf updated"

# ---- remove keeps state; purge removes it (the coordinator's lives in /var/lib/private)
mkdir -p "$R/var/lib/private/gprof-coordinator" && ln -sfn private/gprof-coordinator "$R/var/lib/gprof-coordinator"
touch "$R/var/lib/private/gprof-coordinator/meta.db" "$R/var/lib/gprof-agent/marker"
in_root dpkg -r gprof-agent gprof-coordinator >"$WORK/dpkg3.log" 2>&1 || { cat "$WORK/dpkg3.log" >&2; fail "remove"; }
[ ! -e "$R/usr/sbin/gprof-agent" ] || fail "remove left the agent binary"
[ -e "$R/var/lib/gprof-agent/marker" ] && [ -e "$R/var/lib/private/gprof-coordinator/meta.db" ] ||
    fail "remove deleted the state"
[ -e "$R/etc/gprof/agent.conf" ] || fail "remove deleted the conffile"
in_root dpkg -P gprof-agent gprof-coordinator >"$WORK/dpkg4.log" 2>&1 || { cat "$WORK/dpkg4.log" >&2; fail "purge"; }
for p in /var/lib/gprof-agent /var/lib/gprof-coordinator /var/lib/private/gprof-coordinator /etc/gprof/agent.conf; do
    [ ! -e "$R$p" ] && [ ! -L "$R$p" ] || fail "purge left $p"
done
ok "remove keeps /var/lib/gprof-*, purge removes it"
