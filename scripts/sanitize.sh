#!/usr/bin/env bash
# Builds the ASan+UBSan preset (clang), runs the unit tests under it, then runs every libFuzzer
# target over its checked-in corpus and for a bounded time (HEARTH_FUZZ_SECONDS, default 20).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
jobs="${HEARTH_JOBS:-$(nproc 2>/dev/null || echo 2)}"
seconds="${HEARTH_FUZZ_SECONDS:-20}"
# scripts/bootstrap.sh test has already built build/asan.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --preset asan -j "$jobs" -LE slow
shopt -s nullglob
for fuzzer in build/asan/fuzz/*_fuzz; do
  name=$(basename "$fuzzer")
  corpus_src="tests/fuzz/corpus/${name%_fuzz}"
  work="build/asan/fuzz-corpus/$name"
  mkdir -p "$work"
  echo "-- fuzzing $name for ${seconds}s"
  args=("$work")
  [ -d "$corpus_src" ] && args+=("$corpus_src")
  "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
    "${args[@]}" 2>&1 | tail -n 3
done
