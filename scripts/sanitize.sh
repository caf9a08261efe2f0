#!/usr/bin/env bash
# The C++ core's tests (ctest) under AddressSanitizer with UndefinedBehaviorSanitizer, then
# under ThreadSanitizer (the threaded parts: the CRIU channel, the page sink, the uffd server,
# the exit watch, the archive reader's read-ahead), each in its own build directory.
# Prints one line per sanitizer, "sanitize NAME: N passed, N failed", and exits non-zero on any
# failure or sanitizer report.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

failed_any=0
run() {
  local name="$1" dir="$2" sanitizers="$3"
  shift 3
  if ! cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DFREEZEDRY_SANITIZE="$sanitizers" \
      -DCMAKE_CXX_FLAGS="-fno-sanitize-recover=all" >/dev/null || ! cmake --build "$dir" -j"$(nproc)" >/dev/null; then
    echo "sanitize $name: build failed"
    failed_any=1
    return
  fi
  local log="$dir/ctest.log"
  ctest --test-dir "$dir" --output-on-failure "$@" >"$log" 2>&1
  local summary total failed
  summary="$(grep -E 'tests passed, [0-9]+ tests failed out of' "$log" || true)"
  total="$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")"
  failed="$(sed -E 's/.*tests passed, ([0-9]+) tests failed.*/\1/' <<<"$summary")"
  [ -n "$summary" ] || { total=0; failed=1; }
  echo "sanitize $name: $(( ${total:-0} - ${failed:-0} )) passed, ${failed} failed"
  if [ "$failed" != 0 ]; then
    failed_any=1
    grep -E 'ERROR: (Address|Thread|Leak)Sanitizer|runtime error|WARNING: ThreadSanitizer|\*\*\*Failed' "$log" | head -n 10 | sed 's/^/  /'
  fi
}

# The dirty tracker's test tracks a fork of the test binary itself: under a sanitizer that child
# maps terabytes of shadow memory, which the tracker would write-protect and scan (it times
# out). The tracker is exercised unsanitized by ctest and by the migration tests.
export ASAN_OPTIONS="detect_leaks=1"
run "asan+ubsan" build-asan address,undefined -E dirty_tracker
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
run "tsan" build-tsan thread -R 'criu_channel|page_sink|exit_watch|archive|seqpacket|uffd_server'
[ "$failed_any" -eq 0 ]
