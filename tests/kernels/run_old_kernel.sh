#!/bin/bash
# run_old_kernel.sh — checks gprof's BPF programs on an older kernel than this host's: boots
# Debian bullseye's 5.10 kernel (no bpf_loop: the tail-call unwinder 5.15/5.16 run) under
# qemu-system-x86_64 (TCG, no KVM needed) with an initramfs holding busybox, gprofctl, the
# check tool and a no-frame-pointer workload; inside, loads every BPF program gprofctl loads
# (verifier statistics per program), then runs `gprofctl record` on the workload, prints the
# profile on the serial console and powers off. The console log is parsed here; any failure
# exits non-zero with what failed. See tests/kernels/README.md.
#
# Environment: GPROF_SOURCE_DIR, GPROF_BUILD_DIR (default: the repository and its build/);
# GPROF_KERNEL_CACHE (/var/cache/gprof-test-kernels); GPROF_KERNEL_KEEP=1 keeps the work
# directory; GPROF_KERNEL_RECORD_S (4) seconds of recording in the guest; CI=true turns a
# missing tool or a failed download into a failure (else: skip, exit 77).
set -uo pipefail
SRC=${GPROF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${GPROF_BUILD_DIR:-$SRC/build}
CACHE=${GPROF_KERNEL_CACHE:-/var/cache/gprof-test-kernels}
RECORD_S=${GPROF_KERNEL_RECORD_S:-4}
MIN_SAMPLES=${GPROF_KERNEL_MIN_SAMPLES:-50}
MIN_MAIN_PCT=${GPROF_KERNEL_MIN_MAIN_PCT:-80}
T0=$(date +%s)

fail() { echo "run_old_kernel: FAIL: $*" >&2; exit 1; }
skip() {
  if [ "${CI:-}" = true ]; then fail "$* (CI=true: not a skip)"; fi
  echo "run_old_kernel: SKIP: $*" >&2; exit 77
}
for t in qemu-system-x86_64 cpio gzip dpkg-deb ldd; do
  command -v $t > /dev/null || skip "$t not found: scripts/install-deps.sh installs it (qemu-system-x86, cpio)"
done
[ -x /bin/busybox ] && ! ldd /bin/busybox > /dev/null 2>&1 ||
  skip "/bin/busybox is missing or not static: apt-get install busybox-static"
[ "$(uname -m)" = x86_64 ] || skip "the guest kernel is amd64; this host is $(uname -m)"
GPROFCTL=$BUILD/cli/gprofctl CHECK=$BUILD/tests/gprof_bpf_check WL=$BUILD/tests/workloads/nofp_chain
for f in "$GPROFCTL" "$CHECK" "$WL"; do [ -x "$f" ] || fail "$f not built (cmake --build $BUILD)"; done

# ---- the kernel ----
VMLINUZ=$(bash "$SRC/tests/kernels/fetch_kernel.sh" "$CACHE") ||
  skip "could not fetch bullseye's kernel from deb.debian.org (see above)"
KCONFIG=$(dirname "$VMLINUZ")/config
grep -q '^CONFIG_DEBUG_INFO_BTF=y' "$KCONFIG" || fail "$VMLINUZ has no BTF (CONFIG_DEBUG_INFO_BTF)"
grep -q '^CONFIG_BPF_SYSCALL=y' "$KCONFIG" || fail "$VMLINUZ has no BPF (CONFIG_BPF_SYSCALL)"

# ---- the initramfs: busybox, the three programs, their shared libraries (paths as on the host,
# so RUNPATHs and /proc/PID/maps name the same files) ----
W=$(mktemp -d /tmp/gprof-oldkernel.XXXXXX)
QPID=
cleanup() {
  [ -n "$QPID" ] && kill "$QPID" 2> /dev/null
  if [ "${GPROF_KERNEL_KEEP:-}" = 1 ]; then echo "run_old_kernel: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
R=$W/root
mkdir -p "$R"/{bin,sbin,proc,sys,dev,tmp,root,etc,run} || fail "mkdir in $W"
cp /bin/busybox "$R/bin/busybox" || fail "copying busybox"
add_file() { # add_file PATH: the file at the same path in the guest, symlinks resolved
  mkdir -p "$R$(dirname "$1")" && cp -L "$1" "$R$1" || fail "copying $1 into the initramfs"
}
for f in "$GPROFCTL" "$CHECK" "$WL"; do
  add_file "$f"
  for lib in $(ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    [ -e "$R$lib" ] || add_file "$lib"
    # the name the dynamic linker asks for may be a symlink (libfoo.so.1 -> libfoo.so.1.2.3)
  done
done
echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"
cat > "$R/init" << INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
echo "GPROF-GUEST start kernel=\$(uname -r) cpus=\$(grep -c ^processor /proc/cpuinfo)"
if [ -r /sys/kernel/btf/vmlinux ]; then echo "GPROF-GUEST btf=1"; else echo "GPROF-GUEST btf=0"; fi
$CHECK
echo "GPROF-GUEST check rc=\$?"
$GPROFCTL record -q -d $RECORD_S -F 99 --format collapsed -o /tmp/out.col -- $WL $((RECORD_S + 2)) > /tmp/record.out 2>&1
echo "GPROF-GUEST record rc=\$?"
cat /tmp/record.out
echo "GPROF-GUEST BEGIN collapsed"
cat /tmp/out.col
echo "GPROF-GUEST END collapsed"
echo "GPROF-GUEST done"
poweroff -f
INIT
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$W/initrd.gz" || fail "building the initramfs"

# ---- boot ----
LOG=$W/console.log
T1=$(date +%s)
timeout 600 qemu-system-x86_64 -accel tcg -cpu max -m 1G -smp 2 -nographic -no-reboot \
  -kernel "$VMLINUZ" -initrd "$W/initrd.gz" \
  -append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init" < /dev/null > "$LOG" 2>&1 &
QPID=$!
wait $QPID
QRC=$?
QPID=
T2=$(date +%s)
# Carriage returns and the terminal escapes of the firmware go; markers then start their lines.
tr -d '\r' < "$LOG" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/.*\(GPROF-\(GUEST\|CHECK\) \)/\1/' > "$LOG.txt"
LOG=$LOG.txt
show_log() { echo "---- guest console (last 60 lines) ----" >&2; tail -60 "$LOG" >&2; }
[ $QRC = 124 ] && { show_log; fail "the guest did not power off within 600 s"; }
grep -q '^GPROF-GUEST start' "$LOG" || { show_log; fail "the guest did not reach /init (qemu exit $QRC)"; }
grep '^GPROF-GUEST start' "$LOG"
grep -q '^GPROF-GUEST btf=1' "$LOG" || { show_log; fail "the guest kernel has no /sys/kernel/btf/vmlinux"; }
grep -q '^GPROF-GUEST done' "$LOG" || { show_log; fail "the guest stopped before the end of /init"; }

# ---- the verifier ----
echo "verifier (instructions processed per program, by load mode):"
grep '^GPROF-CHECK' "$LOG" | sed 's/^GPROF-CHECK /  /'
if grep -q '^GPROF-CHECK .*load=FAILED' "$LOG" || ! grep -q '^GPROF-CHECK done failed=0' "$LOG"; then
  awk '/^---- verifier log/,/^---- end/' "$LOG" | tail -80 >&2
  fail "a BPF program did not load on $(awk '/^GPROF-GUEST start/ { print $3 }' "$LOG")"
fi

# ---- the recording ----
RREC=$(awk '/^GPROF-GUEST record rc=/ { sub(/.*rc=/, ""); print }' "$LOG")
if [ "$RREC" != 0 ]; then
  sed -n '/^GPROF-GUEST record rc=/,/^GPROF-GUEST BEGIN/p' "$LOG" >&2
  fail "gprofctl record failed in the guest (exit $RREC)"
fi
sed -n '/^GPROF-GUEST BEGIN collapsed/,/^GPROF-GUEST END collapsed/p' "$LOG" | sed '1d;$d' > "$W/out.col"
HDR=$(awk '/^# / { print substr($0, 3); exit }' "$W/out.col")
hfield() { echo "$HDR" | grep -o "\"$1\":[^,}]*" | head -1 | sed 's/.*://; s/"//g'; }
SAMPLER=$(hfield sampler)
KFP=$(hfield user_stacks_kernel_fp)
KFP=${KFP:-0}
echo "header: sampler $SAMPLER, unwind walks: end $(hfield end), no_table $(hfield no_table), unknown_rule $(hfield unknown_rule), read_error $(hfield read_error), depth_limit $(hfield depth_limit); user stacks of kernel-mode samples by frame pointers (no bpf_task_pt_regs): $KFP"
[ "$SAMPLER" = bpf ] || { sed -n '/^GPROF-GUEST record rc=/,/^GPROF-GUEST BEGIN/p' "$LOG" >&2; fail "gprofctl record used the $SAMPLER sampler, not BPF"; }
[ "$(hfield end)" -gt 0 ] 2> /dev/null || fail "no user stack was walked to its end by the unwind tables in BPF" 
# Samples of the workload, and those whose stack reaches main (frames are ;-separated, the count last).
read -r total wl main chain <<< "$(awk '
  /^#/ || NF == 0 { next }
  { n = $NF; line = $0; sub(/ [0-9]+$/, "", line); t += n
    if (line !~ /;nofp_chain;/) next
    w += n
    if (line ~ /;main(;|$)/) m += n
    if (line ~ /;main;.*chain_a;chain_b;chain_c;nofp_lib_d;nofp_lib_hot/) c += n }
  END { print t + 0, w + 0, m + 0, c + 0 }' "$W/out.col")"
pct=$(awk -v a="$main" -v b="$wl" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }')
cpct=$(awk -v a="$chain" -v b="$wl" 'BEGIN { printf "%.1f", b ? 100 * a / b : 0 }')
upct=$(awk -v a="$main" -v b="$wl" -v k="$KFP" 'BEGIN { printf "%.1f", (b > k ? 100 * a / (b - k) : 0) }')
echo "samples: $total in all, $wl of nofp_chain, $main reaching main ($pct%; $upct% of those not walked by frame pointers), $chain with the whole chain main;chain_a;chain_b;chain_c;nofp_lib_d;nofp_lib_hot ($cpct%)"
echo "time: $((T2 - T1)) s in qemu (TCG), $(($(date +%s) - T0)) s in all"
[ "$wl" -ge "$MIN_SAMPLES" ] || { head -30 "$W/out.col" >&2; fail "only $wl samples of the workload (at least $MIN_SAMPLES expected)"; }
awk -v p="$pct" -v m="$MIN_MAIN_PCT" 'BEGIN { exit !(p >= m) }' ||
  { sort -t' ' -k2 -nr "$W/out.col" | head -20 >&2; fail "$pct% of the workload's samples reach main (at least $MIN_MAIN_PCT% expected)"; }
echo "run_old_kernel: PASS"
