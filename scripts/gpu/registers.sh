#!/usr/bin/env bash
# Registers and spills of every kernel in one .cu file (ptxas -v, sm_90), for comparing launch
# bounds and variants here without a GPU:  scripts/gpu/registers.sh src/backend/cuda/kernels/matvec.cu
set -euo pipefail
src=$1
nvcc=${CUDACXX:-/usr/local/cuda/bin/nvcc}
"$nvcc" -I include -I src --expt-relaxed-constexpr -O3 -DNDEBUG -std=c++20 \
  --generate-code=arch=compute_90,code=sm_90 -Xptxas -v -c "$src" -o /dev/null 2>&1 |
  awk '/Compiling entry function/ {name=$0; sub(/.*function ./, "", name); sub(/. for .*/, "", name)}
       /bytes stack frame/ {spill=$0; sub(/.*frame, /, "", spill)}
       /Used [0-9]+ registers/ {r=$0; sub(/.*Used /, "", r); sub(/ registers.*/, "", r);
                                print r, "regs |", spill, "|", name}' |
  c++filt | sed -E 's/hearth::cuda::\(anonymous namespace\):://g'
