#!/usr/bin/env bash
# Builds llama.cpp's `llama-bench` from the llama-cpp-python source archive on PyPI, which
# carries llama.cpp's source in vendor/llama.cpp. Everything lives in a cache outside the
# repository; nothing of llama.cpp is ever committed.
#
#   bench/peers/build_llama_cpp.sh         # CPU only, native flags; prints the path of llama-bench
#   bench/peers/build_llama_cpp.sh --cuda  # CUDA for sm_90 (the H100/H200 peer of issue 8), static,
#                                          # in build-cuda/; built here, carried to the GPU machine
#
# Environment: LLAMA_CPP_PYTHON_VERSION (the pin), HEARTH_CACHE_DIR (default ~/.cache/hearth),
# JOBS (parallel compile jobs, default: all cores).
set -euo pipefail

cuda=0
[[ "${1:-}" == "--cuda" ]] && cuda=1
pin="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
cache="${HEARTH_CACHE_DIR:-$HOME/.cache/hearth}/peers/llama-cpp-python-${pin}"
build="${cache}/build"
[[ ${cuda} -eq 1 ]] && build="${cache}/build-cuda"
bin="${build}/bin/llama-bench"
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
if [[ ${cuda} -eq 1 ]]; then
  # No GPU here: the CPU part is built for AVX2 (not -march=native of this host), CUDA for sm_90.
  device_flags=(-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_CUDA=ON
    -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="${CUDACXX:-/usr/local/cuda/bin/nvcc}")
else
  device_flags=(-DGGML_NATIVE=ON -DGGML_CUDA=OFF)
fi
cmake -S "${llama_src}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release "${device_flags[@]}" \
  -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >&2
cmake --build "${build}" --target llama-bench -j "${JOBS:-$(nproc)}" >&2
[[ -x "${bin}" ]] || {
  echo "error: the build did not produce ${bin}" >&2
  exit 1
}
echo "${bin}"
