#!/usr/bin/env bash
# Packs what a device call needs into .device/ (git-ignored), run here before `run`:
#   scripts/gpu/pack.sh hearth   hearth + the CUDA test binaries (stripped) -> .device/hearth/bin.tar.xz,
#                                the shared libraries the GPU machine lacks -> .device/hearth/lib.tar.xz
#   scripts/gpu/pack.sh llama    llama-bench built with CUDA by bench/peers/build_llama_cpp.sh --cuda
#   scripts/gpu/pack.sh model    the default model split in three parts, .device/model{1,2,3}
# (each device call carries at most 64 MiB in all; the model goes over three calls).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
build=${BUILD:-$root/build/cuda}
dev=$root/.device
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Libraries the GPU machine has (its C library, C++ runtime, CUDA, OpenSSL, zlib).
system_lib() {
  [[ $1 =~ ^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libstdc\+\+|libgcc_s|libcuda|libcublas|libcudart|libssl|libcrypto|libz\.) ]]
}

pack_hearth() {
  cmake --build "$build" --target hearth cuda_backend_test synthetic_model_test -j2
  mkdir -p "$stage/bin" "$stage/lib" "$dev/hearth"
  local bins=("$build/tools/hearth/hearth" "$build/tests/backend/cuda/cuda_backend_test"
              "$build/tests/backend/cuda/synthetic_model_test")
  for b in "${bins[@]}"; do strip -o "$stage/bin/$(basename "$b")" "$b"; done
  # -9: a 64 MiB dictionary sees the kernels the three binaries share (-6: 46 MB, -9: 16 MB).
  tar -cf - -C "$stage" bin | xz -9 -T2 > "$dev/hearth/bin.tar.xz"
  for b in "${bins[@]}"; do
    ldd "$b" | awk '$3 ~ /^\// {print $1, $3}'
  done | sort -u | while read -r name path; do
    system_lib "$name" || cp -L "$path" "$stage/lib/"
  done
  local listing
  listing=$(ls "$stage/lib" | tr '\n' ' ')
  if [[ ! -f "$dev/hearth/lib.list" || "$(cat "$dev/hearth/lib.list")" != "$listing" ]]; then
    tar -cJf "$dev/hearth/lib.tar.xz" -C "$stage" lib
    echo "$listing" > "$dev/hearth/lib.list"
  fi
  du -sh "$dev/hearth"/*
}

pack_llama() {
  local lb
  lb=$("$root/bench/peers/build_llama_cpp.sh" --cuda)
  mkdir -p "$dev/llama"
  strip -o "$stage/llama-bench" "$lb"
  cp -L "$(ldd "$lb" | awk '$1 ~ /^libgomp/ {print $3}')" "$stage/"  # OpenMP, maybe not there
  tar -cJf "$dev/llama/llama-bench.tar.xz" -C "$stage" llama-bench $(cd "$stage" && ls libgomp*)
  du -sh "$dev/llama"/*
}

pack_model() {
  local model=${HEARTH_MODEL:-$HOME/.cache/hearth/models/SmolLM2-135M-Instruct.Q4_1.gguf}
  rm -rf "$dev"/model1 "$dev"/model2 "$dev"/model3
  split -n 3 -d "$model" "$stage/part"
  for i in 1 2 3; do mkdir -p "$dev/model$i"; mv "$stage/part0$((i - 1))" "$dev/model$i/part$i"; done
  du -sh "$dev"/model*
}

for what in "$@"; do "pack_$what"; done
du -sh "$dev"
