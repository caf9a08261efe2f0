#!/usr/bin/env bash
# The whole test suite: C++ core tests (ctest), then vitest's unit, native and integration
# projects against the real CRIU. Ends with one plain line "N passed, N failed, N skipped".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/setup.sh --test || { echo "0 passed, 1 failed (setup failed)"; exit 1; }
mkdir -p .test-results

echo "== C++ core tests (ctest)"
cpp_passed=0 cpp_failed=0
if cmake -S . -B build-cmake -DCMAKE_BUILD_TYPE=Debug >/dev/null && cmake --build build-cmake -j"$(nproc)" >/dev/null; then
  ctest --test-dir build-cmake --output-on-failure | tee .test-results/ctest.txt
  summary="$(grep -E 'tests passed, [0-9]+ tests failed out of' .test-results/ctest.txt || true)"
  total="$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")"
  cpp_failed="$(sed -E 's/.*tests passed, ([0-9]+) tests failed.*/\1/' <<<"$summary")"
  cpp_passed=$(( ${total:-0} - ${cpp_failed:-0} ))
  [ -n "$summary" ] || cpp_failed=1
else
  echo "C++ build failed"; cpp_failed=1
fi

echo "== C++ core tests under sanitizers, and a short run of each fuzz target"
bash scripts/sanitize.sh | tee .test-results/sanitize.txt
bash scripts/fuzz.sh "${FREEZEDRY_FUZZ_SECONDS:-8}" | tee .test-results/fuzz.txt
read -r san_passed san_failed < <(awk '/^sanitize .*: [0-9]+ passed, [0-9]+ failed/ { p += $(NF-3); f += $(NF-1) } /^sanitize .*build failed/ { f++ } END { print p + 0, f + 0 }' .test-results/sanitize.txt)
fuzz_passed="$(grep -c '^fuzz .*: ok' .test-results/fuzz.txt || true)"
fuzz_failed="$(grep -cE '^fuzz.*(FAILED|failed|missing)' .test-results/fuzz.txt || true)"
cpp_passed=$((cpp_passed + san_passed + fuzz_passed))
cpp_failed=$((cpp_failed + san_failed + fuzz_failed))

echo "== lint (ESLint over src, test, bench), typecheck (tsc --noEmit)"
if npx eslint src test bench; then cpp_passed=$((cpp_passed + 1)); else cpp_failed=$((cpp_failed + 1)); fi
if npx tsc -p tsconfig.json --noEmit; then cpp_passed=$((cpp_passed + 1)); else cpp_failed=$((cpp_failed + 1)); fi
echo "== clang-format (.clang-format) over native/"
if git ls-files -co --exclude-standard 'native/*.cc' 'native/*.h' | xargs clang-format --dry-run --Werror; then
  cpp_passed=$((cpp_passed + 1))
else
  echo "native/ is not formatted: run clang-format -i on the files above"; cpp_failed=$((cpp_failed + 1))
fi

echo "== prebuilt addons: linux-x64, and linux-arm64 cross-built (the packed-tarball test installs them)"
for arch in x64 arm64; do
  if bash scripts/prebuild.sh "$arch" > ".test-results/prebuild-$arch.txt" 2>&1; then
    echo "prebuild linux-$arch: ok"; cpp_passed=$((cpp_passed + 1))
  else
    echo "prebuild linux-$arch: FAILED"; tail -20 ".test-results/prebuild-$arch.txt"; cpp_failed=$((cpp_failed + 1))
  fi
done

echo "== vitest (unit, native, integration)"
npx vitest run --reporter=default --reporter=json --outputFile=.test-results/vitest.json
vitest_status=$?
read -r js_passed js_failed js_skipped < <(node -e '
  try {
    const r = JSON.parse(require("fs").readFileSync(".test-results/vitest.json", "utf8"));
    // A file that fails to load has no failed test of its own: count it once.
    const brokenFiles = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((t) => t.status === "failed")).length;
    console.log(r.numPassedTests, r.numFailedTests + brokenFiles, r.numPendingTests + (r.numTodoTests || 0));
  } catch { console.log(0, 1, 0); }')
if [ "$vitest_status" -ne 0 ] && [ "$js_failed" -eq 0 ]; then js_failed=1; fi

passed=$((cpp_passed + js_passed))
failed=$((cpp_failed + js_failed))
echo "${passed} passed, ${failed} failed, ${js_skipped} skipped"
[ "$failed" -eq 0 ]
