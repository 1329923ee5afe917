#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking gprof needs.
# Idempotent; safe to run again. Usage: scripts/install-deps.sh [--build-only | --fleet]
#   --fleet: what building and scripts/demo-fleet.sh need (the build packages, PostgreSQL,
#            ClickHouse, Node.js and npm for s3rver)
set -euo pipefail

build_pkgs=(
  build-essential cmake pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  liblzma-dev libiberty-dev libcurl4-openssl-dev libjson-c-dev libsqlite3-dev libcrypt-dev uuid-dev
  libsystemd-dev libmicrohttpd-dev libpq-dev libssl-dev libprotobuf-c-dev protobuf-c-compiler
  libdeflate-dev libdebuginfod-dev libgnutls28-dev
  libxml2-dev # the S3 blob engine reads ListObjectsV2 answers (coordinator/backends/s3/xml.c)
)
test_pkgs=(
  libcmocka-dev libclang-rt-14-dev libc6-dbg golang-go chromium postgresql
  systemd util-linux binutils file sqlite3 curl procps
  libc6-dbg xz-utils debuginfod iproute2
  openssl # the TLS tests make their CA and certificates
  linux-perf bzip2 python3.11 # the unwinding tests: perf --call-graph dwarf is their oracle
  clickhouse-server clickhouse-client # the ClickHouse sample index tests (tests/servers/server_clickhouse.sh)
  dpkg-dev rpm rpmlint lintian libseccomp2 libcap2 libcap2-bin # packages, units (test_package*, test_units*)
  qemu-system-x86 busybox-static cpio debian-archive-keyring # tests/kernels: an old kernel under qemu
)
bench_pkgs=(linux-perf bpftrace wrk hyperfine time bc jq)

fleet_pkgs=(postgresql clickhouse-server curl) # scripts/demo-fleet.sh (tests/servers/*.sh)

pkgs=("${build_pkgs[@]}")
if [ "${1:-}" = "--fleet" ]; then
  pkgs+=("${fleet_pkgs[@]}")
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
elif [ "${1:-}" != "--build-only" ]; then
  pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}")
  # Node.js may come from elsewhere with its own npm; Debian's npm conflicts with such builds.
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root to install packages (try: sudo $0)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
