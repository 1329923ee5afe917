# sanitizers.sh — which build's programs an integration test runs, and the sanitizer check (sourced).
# GPROF_BIN_DIR (set by tests/CMakeLists.txt from GPROF_TEST_SANITIZED_DIR, e.g. build-asan/)
# names an ASan + UBSan build whose gprof-coordinator, gprofctl and tools the test runs instead of
# GPROF_BUILD_DIR's; every report (memory error, undefined behaviour, a leak at exit) is written
# under SAN_LOG (UBSan's in the process's stderr) and fails the test (sanitizer_check), also
# when the process that hit it was in the background or its exit status was not looked at.
: "${GPROF_BUILD_DIR:?set by ctest}" "${GPROF_SOURCE_DIR:?set by ctest}"
BIN=${GPROF_BIN_DIR:-$GPROF_BUILD_DIR}
SAN_LOG=
if [ -n "${GPROF_BIN_DIR:-}" ] && [ "$GPROF_BIN_DIR" != "$GPROF_BUILD_DIR" ]; then
    SAN_LOG=$(mktemp -d /tmp/gprof-sanitizer.XXXXXX)
    # The first report ends the process (abort_on_error, halt_on_error) and is written to
    # SAN_LOG/<tool>.<pid>; LeakSanitizer runs at every exit, also the coordinator's on SIGTERM
    # (coordinator_lib.sh stops it with SIGTERM when the test ends); suppressions only name
    # third-party libraries (tests/sanitizers/lsan.supp says why for each).
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:log_path=$SAN_LOG/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$SAN_LOG/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    export LSAN_OPTIONS="suppressions=$GPROF_SOURCE_DIR/tests/sanitizers/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi

# sanitized_stop PID SECONDS: under GPROF_BIN_DIR, stops PID with SIGTERM and waits up to
# SECONDS for it to exit (LeakSanitizer checks a program only at a clean exit); returns 1 when it
# is still running then. Nothing to do (0) without GPROF_BIN_DIR: the caller's kill -9 follows.
sanitized_stop() {
    [ -n "$SAN_LOG" ] || return 0
    kill -TERM "$1" 2>/dev/null || true
    local st _
    for _ in $(seq 1 $(($2 * 10))); do
        st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)
        [ -n "$st" ] && [ "$st" != Z ] || return 0 # exited (a zombie until waited for)
        sleep 0.1
    done
    return 1
}

# sanitizer_check [DIR...]: prints every report under SAN_LOG, and every UBSan report in the
# text files under DIR (UBSan, linked beside ASan, ignores log_path and writes to the process's
# stderr: the tests send the coordinator's to WORK/coord.log); returns 1 when there is one and
# removes SAN_LOG otherwise. Nothing to do (0) without GPROF_BIN_DIR.
sanitizer_check() {
    [ -n "$SAN_LOG" ] && [ -d "$SAN_LOG" ] || return 0
    local f n=0
    for f in "$SAN_LOG"/*; do
        [ -s "$f" ] || continue
        n=$((n + 1))
        echo "FAIL: sanitizer report $(basename "$f") (a program of $GPROF_BIN_DIR):" >&2
        head -80 "$f" >&2
    done
    if [ $# -gt 0 ]; then
        while IFS= read -r f; do
            n=$((n + 1))
            echo "FAIL: UBSan report in $f (a program of $GPROF_BIN_DIR):" >&2
            grep -E -A20 ':[0-9]+:[0-9]+: runtime error: ' "$f" | head -40 >&2
        done < <(grep -rIlE ':[0-9]+:[0-9]+: runtime error: ' "$@" 2>/dev/null || true)
    fi
    if [ "$n" != 0 ]; then
        echo "sanitizer reports kept in $SAN_LOG" >&2
        return 1
    fi
    rm -rf "$SAN_LOG"
}
