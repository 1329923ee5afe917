#!/usr/bin/env bash
# Builds the gprof-agent and gprof-coordinator packages, .deb and .rpm, into OUTDIR (default
# build/packages) with CPack from the build tree BUILD_DIR (default build/; configured and built
# here when needed, RelWithDebInfo). Usage: scripts/package.sh [OUTDIR]
# Needs dpkg-dev (dpkg-shlibdeps) and rpm (rpmbuild); scripts/install-deps.sh installs them.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}
out=$(mkdir -p "${1:-$build/packages}" && cd "${1:-$build/packages}" && pwd)
for tool in dpkg-shlibdeps rpmbuild; do
    command -v "$tool" >/dev/null || {
        echo "package.sh: $tool is missing (Debian: apt-get install dpkg-dev rpm)" >&2
        exit 1
    }
done
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" -j"${JOBS:-2}" --target gprof-agent-bin gprofctl gprof-coordinator \
    gprof-agent-docs gprof-coordinator-docs
# Only the packages' components are installed; cpack writes its scratch tree under $build.
(cd "$build" && cpack -G "${GENERATORS:-DEB;RPM}" -B "$out" >"$build/cpack.log" 2>&1) || {
    tail -30 "$build/cpack.log" >&2
    exit 1
}
rm -rf "$out/_CPack_Packages"
ls -1 "$out"/*.deb "$out"/*.rpm
