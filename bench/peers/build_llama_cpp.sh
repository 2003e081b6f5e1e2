#!/usr/bin/env bash
# Builds llama.cpp's `llama-bench` (CPU only, native flags) from the llama-cpp-python source
# archive on PyPI, which carries llama.cpp's source in vendor/llama.cpp. Everything lives in a
# cache outside the repository; nothing of llama.cpp is ever committed.
#
#   bench/peers/build_llama_cpp.sh        # prints the path of llama-bench (builds it once)
#
# Environment: LLAMA_CPP_PYTHON_VERSION (the pin), HEARTH_CACHE_DIR (default ~/.cache/hearth),
# JOBS (parallel compile jobs, default: all cores).
set -euo pipefail

pin="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
cache="${HEARTH_CACHE_DIR:-$HOME/.cache/hearth}/peers/llama-cpp-python-${pin}"
bin="${cache}/build/bin/llama-bench"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pip="${repo_root}/.venv/bin/pip"
[[ -x "${pip}" ]] || pip="pip3"

if [[ -x "${bin}" ]]; then
  echo "${bin}"
  exit 0
fi

mkdir -p "${cache}/download"
if ! compgen -G "${cache}/download/llama_cpp_python-${pin}.tar.gz" >/dev/null; then
  echo "downloading llama-cpp-python==${pin} (source archive) ..." >&2
  "${pip}" download --quiet --no-deps --no-binary :all: \
    "llama-cpp-python==${pin}" -d "${cache}/download" >&2
fi
archive="$(compgen -G "${cache}/download/llama_cpp_python-${pin}.tar.gz" | head -1)"
if [[ ! -d "${cache}/src" ]]; then
  mkdir -p "${cache}/src.tmp"
  tar -xzf "${archive}" -C "${cache}/src.tmp" --strip-components=1
  mv "${cache}/src.tmp" "${cache}/src"
fi
llama_src="${cache}/src/vendor/llama.cpp"
[[ -f "${llama_src}/CMakeLists.txt" ]] || {
  echo "error: ${archive} has no vendor/llama.cpp/CMakeLists.txt" >&2
  exit 1
}

echo "building llama-bench from ${llama_src} ..." >&2
cmake -S "${llama_src}" -B "${cache}/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >&2
cmake --build "${cache}/build" --target llama-bench -j "${JOBS:-$(nproc)}" >&2
[[ -x "${bin}" ]] || {
  echo "error: the build did not produce ${bin}" >&2
  exit 1
}
echo "${bin}"
