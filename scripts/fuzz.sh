#!/usr/bin/env bash
# Runs each libFuzzer target of native/fuzz (built with clang, ASan and UBSan) for a while,
# from its seed corpus in the repository; what it learns goes to .fuzz/ (not committed).
#   scripts/fuzz.sh [SECONDS per target, default 60] [TARGET...]
# Prints one line per target (executions, coverage, features) and exits non-zero if any
# target found a crash, a leak, a hang or an allocation over the limit (its input is kept).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-60}"
shift || true

command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (scripts/provision.sh --test installs it)"; exit 1; }
CXX=clang++ cmake -S . -B build-fuzz -DFREEZEDRY_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
  cmake --build build-fuzz -j"$(nproc)" >/dev/null || { echo "fuzz: build failed"; exit 1; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for source in native/fuzz/*_fuzz.cc; do targets+=("$(basename "$source" _fuzz.cc)"); done
fi

failed=0
for target in "${targets[@]}"; do
  work=".fuzz/$target"
  mkdir -p "$work/corpus" .fuzz/artifacts
  log="$work/last-run.log"
  # 512 MB per allocation and 2 GB in all: an input that makes us allocate more is a bug.
  "build-fuzz/native/fuzz/${target}_fuzz" "$work/corpus" "native/fuzz/corpus/$target" \
    -max_total_time="$seconds" -timeout=10 -malloc_limit_mb=512 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix=".fuzz/artifacts/$target-" >"$log" 2>&1
  status=$?
  execs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)"
  last="$(grep -E '^#[0-9]+' "$log" | tail -n1)"
  cov="$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo '?')"
  ft="$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || echo '?')"
  if [ "$status" -eq 0 ]; then
    echo "fuzz $target: ok, ${execs} executions in ${seconds} s, coverage ${cov} edges, ${ft} features"
  else
    failed=$((failed + 1))
    echo "fuzz $target: FAILED (status $status) after ${execs} executions; see $log and .fuzz/artifacts/$target-*"
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -n5 | sed 's/^/  /'
  fi
done
[ "$failed" -eq 0 ]
