#!/usr/bin/env bash
# test_html_browser.sh — the self-contained HTML flame graph in headless Debian chromium with the
# network blocked (playwright-core): canvas drawn, regex search share, click zoom + breadcrumbs,
# tooltip, icicle toggle, top-functions table, the note on hypervisor frames, a 100k-node profile
# (render time reported; embedded as the gzip'd compact tree, its decoded and painted counts checked
# against the generator), the Performance Studio tree JSON input and a before/after diff tree.
# Set GPROF_SCREENSHOT_DIR to keep PNG screenshots.
set -euo pipefail
: "${GPROF_SOURCE_DIR:?}" "${GPROF_BUILD_DIR:?}"
gen="$GPROF_BUILD_DIR/tests/unit_html"
browser_dir="$GPROF_SOURCE_DIR/tests/browser"
[ -x "$gen" ] || { echo "FAIL: missing $gen (build the unit tests)"; exit 1; }
command -v node >/dev/null || { echo "FAIL: node is not installed (nodejs is a test dependency)"; exit 1; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "FAIL: ${CHROMIUM:-/usr/bin/chromium} missing (apt-get install chromium)"; exit 1; }
[ -d "$browser_dir/node_modules/playwright-core" ] || {
  echo "FAIL: playwright-core is not installed; run: (cd tests/browser && npm ci)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp/home"
mkdir -p "$HOME"

# A gProfiler-style profile whose hottest function (self and total) is hot_function.
{
  printf '# {"hostname":"browser-test","sampling_frequency":99,"start_time":"2026-01-02T03:04:05Z","end_time":"2026-01-02T03:05:05Z","sampler":"bpf"}\n'
  printf '0;;burner;_start;__libc_start_main;main;hot_function 5200\n'
  printf '0;;burner;_start;__libc_start_main;main;hot_function;mix_bits 800\n'
  printf '0;;burner;_start;__libc_start_main;main;hot_function;entry_SYSCALL_64_[k];do_syscall_64_[k];ksys_write_[k] 400\n'
  printf '0;;burner;_start;__libc_start_main;main;cold_function 2300\n'
  printf '0;;burner;_start;__libc_start_main;main;cold_function;memcpy 300\n'
  printf '0;;burner;_start;__libc_start_main;main;cold_function;entry_SYSCALL_64_[k];do_syscall_64_[k];pvm_irq_enable_[k] 150\n'
  printf '0;;burner;_start;__libc_start_main;main;setup;parse_config 200\n'
  printf '0;;burner;_start;__libc_start_main;main;evil</script><img src=x onerror=alert(1)>&amp 5\n'
  printf '0;web;nginx;start_thread;ngx_worker_process_cycle;ngx_process_events_and_timers;epoll_wait;do_syscall_64_[k] 450\n'
  printf '0;;python3;Py_RunMain;_PyEval_EvalFrameDefault;handle (/app/server.py:42)_[p] 350\n'
  printf '0;;swapper;secondary_startup_64_no_verify_[k];do_idle_[k];native_safe_halt_[k] 700'
} > "$tmp/small.col"

# 100,000 distinct stacks → 111,113 nodes.
awk 'BEGIN { for (i = 0; i < 100000; i++)
  printf "0;;app;main;a%d;b%d;c%d;d%d;e%d %d\n", i%10, i%100, i%1000, i%10000, i, (i%97)+1 }' > "$tmp/big.col"

"$gen" --generate "$tmp/small.col" "$tmp/small.html" "CPU profile · browser-test"
"$gen" --generate "$tmp/big.col" "$tmp/big.html" "100k nodes"
"$gen" --generate-tree "$tmp/small.col" "$tmp/tree.html" "From tree JSON"
printf 'app;main;hot 50\napp;main;cold 50\napp;main;gone 20\n' > "$tmp/before.col"
printf 'app;main;hot 90\napp;main;cold 40\napp;main;newfn 30\n' > "$tmp/after.col"
"$gen" --generate-diff "$tmp/before.col" "$tmp/after.col" "$tmp/diff.html" "Diff"
printf '# {"hostname":"idle"}' > "$tmp/empty.col"
"$gen" --generate "$tmp/empty.col" "$tmp/empty.html"
echo "small.html $(stat -c %s "$tmp/small.html") bytes, big.html $(stat -c %s "$tmp/big.html") bytes"
# One file, nothing to fetch: no src=/href= attributes at all.
if grep -Eq '<(script|link|img)[^>]* (src|href)=' "$tmp/small.html"; then
  echo "FAIL: the HTML references an external resource"; exit 1
fi

shots=()
[ -n "${GPROF_SCREENSHOT_DIR:-}" ] && mkdir -p "$GPROF_SCREENSHOT_DIR" && shots=(--shots "$GPROF_SCREENSHOT_DIR")
cd "$browser_dir"
node viewer.test.mjs --small "$tmp/small.html" --col "$tmp/small.col" --big "$tmp/big.html" --bigcol "$tmp/big.col" \
  --tree "$tmp/tree.html" --diff "$tmp/diff.html" --empty "$tmp/empty.html" "${shots[@]}"
