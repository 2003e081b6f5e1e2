#!/usr/bin/env bash
# Runs the whole test suite: bootstraps what is missing, then
#   1. the Release build's unit and golden tests (CTest),
#   2. end-to-end tests that drive the real binary (pytest),
#   3. the CUDA build compiles (when nvcc is installed; GPU tests skip without a GPU),
#   4. the ASan+UBSan build's tests and every fuzz target for a bounded time.
# Set HEARTH_SKIP_SANITIZE=1 to skip step 4 locally (CI always runs it).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$repo"
"$repo/scripts/bootstrap.sh" test
jobs="${HEARTH_JOBS:-$(nproc 2>/dev/null || echo 2)}"

echo "== unit and golden tests (release) =="
ctest --preset release -j "$jobs"

if [ -n "$(find tests/e2e -name 'test_*.py' 2>/dev/null)" ]; then
  echo "== end-to-end tests (pytest) =="
  HEARTH_BIN="$repo/build/release/tools/hearth/hearth" "$repo/.venv/bin/python" -m pytest -q tests/e2e
fi

nvcc_bin="$(command -v nvcc || true)"
[ -z "$nvcc_bin" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc_bin=/usr/local/cuda/bin/nvcc
if [ -n "$nvcc_bin" ]; then
  echo "== CUDA build (compile only unless a GPU is present) =="
  cmake --preset cuda -DCMAKE_CUDA_COMPILER="$nvcc_bin" >/dev/null
  cmake --build --preset cuda -j "$jobs" --target hearth cuda_backend_test
  ctest --test-dir build/cuda -L gpu -j "$jobs"
else
  echo "== CUDA build skipped: nvcc not found =="
fi

if [ "${HEARTH_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== sanitizer build (ASan + UBSan) =="
  "$repo/scripts/sanitize.sh"
fi
echo "== all tests passed =="
