#!/usr/bin/env bash
# The CUDA work of one device call, run in the repository root on the GPU machine:
#   scripts/gpu/run.sh PHASE...
# with the binaries packed here by scripts/gpu/pack.sh (carried in .device/). Phases, in order:
#   info      card, driver, CUDA, clocks
#   ceilings  copy bandwidth and bf16 GEMM rate (ceilings.py, PyTorch)
#   stash     keep the model parts this call carries (.device/model*/part*) in /tmp/hearth-model,
#             which outlives the call while the machine stays warm (a call carries <= 64 MiB, the
#             model is 98 MB: three calls in a row, each within the 30 s the machine stays warm)
#   model     assemble the default model from the stashed parts and check its SHA-256
#   test      synthetic_model_test and cuda_backend_test (the default model when assembled)
#   bench     hearth bench --synthetic llama3-8b / qwen3-8b q4_0: tg128, pp512, pp4096, tg @ 32k
#   ab        this session's changes (rope in the q/k/v matvec, 24-warp matvec blocks, row groups
#             dealt in turn) against the previous behaviour
#   short     the short-block matvecs and the gate/up -> down quantized handoff against the
#             resident 24-warp matvec kernel (tg128, qwen3-8b, 32k)
#   ab2       the decode attention's split merge against the old one; the matvec prologue timed
#   poison    every CUDA test with new device buffers filled with NaN bytes (HEARTH_CUDA_POISON=1)
#   sanitize  compute-sanitizer initcheck / memcheck / racecheck over the recorded-step model tests
#   variants  decode with the one-key-at-a-time attention softmax, the norm/residual fusions
#             off, attention splits fixed, 4 keys in flight; graphs off, PDL off; prefill with
#             4-warp attention blocks, no bf16 cache
#   repeat    the default-model tests repeated (defaults, 2 stages, f32 KV, PDL off, graphs off)
#   modelvariants  the whole-model tests with the decode fusions switched
#   llama     write the synthetic GGUF, llama.cpp's llama-bench (.device/llama, built here with
#             CUDA for sm_90 by bench/peers/build_llama_cpp.sh --cuda) on it (same tests)
#   stash_llama  unpack .device/llama (llama-bench, carried in a call of its own) into /tmp/llama
#   profile   ncu over a few decode steps (per-kernel time and DRAM throughput)
#   handoff   the o -> gate/up and gate/up -> down quantized handoffs (short-block matvecs)
#   short_kinds  the short-block matvecs by kind, with fusions, PDL or graphs off
#   profile_short  ncu of a step's kernels with the short-block and the resident matvecs
#   profile32k  ncu of the decode attention at 32k (time, DRAM, registers, occupancy, issue, stalls)
#   mma       the tensor-core decode attention against the CUDA-core one (32k, 8k, tg128, qwen3-8b)
#   mma2      the tensor-core kernel (one wave of 2 blocks a multiprocessor) with one tile ahead in
#             registers or cp.async rings of 2 or 3 tiles, against the CUDA-core kernel (32k, tg128,
#             qwen3-8b)
# Logs and JSON go to a work folder packed into $OUT/run.tar.gz at the end (a call returns at
# most 8 files); the last lines printed are the summary table (summarize.py), also $OUT/summary.md.
set -uo pipefail
RESULTS=${OUT:-/tmp/hearth-results}
OUT=/tmp/hearth-run
rm -rf "$OUT"
mkdir -p "$OUT" "$RESULTS"
ROOT=$(pwd)
H=/tmp/hearth-gpu
MODEL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
start=$(date +%s)
elapsed() { echo $(($(date +%s) - start)); }
log() { echo "[$(elapsed)s] $*" | tee -a "$OUT/run.log"; }

setup() {
  mkdir -p "$H"
  if [[ -f .device/hearth/bin.tar.xz ]]; then
    [[ -f .device/hearth/lib.tar.xz ]] && tar -xJf .device/hearth/lib.tar.xz -C "$H"
    tar -xJf .device/hearth/bin.tar.xz -C "$H"
  fi
  if [[ ! -x "$H/bin/hearth" ]]; then
    log "no hearth binaries (.device/hearth/bin.tar.xz)"
    # Phases that only stash what a call carries run without them.
    for phase in "${PHASES[@]}"; do [[ $phase == stash || $phase == stash_llama ]] || exit 1; done
    return 0
  fi
  local extra=""
  for mod in cublas cuda_runtime; do
    local d
    d=$(python3 -c "import nvidia.$mod as m, os; print(os.path.join(list(m.__path__)[0], 'lib'))" 2>/dev/null)
    [[ -n "$d" ]] && extra="$extra:$d"
  done
  export LD_LIBRARY_PATH="$H/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib${extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if ldd "$H/bin/hearth" | grep "not found"; then log "missing libraries (above)"; fi
  export HEARTH_SOURCE_DIR="$ROOT"
  if [[ -f /tmp/hearth-model/SmolLM2-135M-Instruct.Q4_1.gguf ]]; then
    export HEARTH_MODEL_DIR=/tmp/hearth-model
  fi
}

phase_stash() {
  mkdir -p /tmp/hearth-model
  for p in .device/model*/part*; do
    [[ -f "$p" ]] && cp "$p" /tmp/hearth-model/ && log "stashed $p"
  done
  ls -la /tmp/hearth-model
}

phase_model() {
  phase_stash
  local f=/tmp/hearth-model/SmolLM2-135M-Instruct.Q4_1.gguf
  if [[ ! -f "$f" ]] && ls /tmp/hearth-model/part1 /tmp/hearth-model/part2 /tmp/hearth-model/part3 >/dev/null 2>&1; then
    cat /tmp/hearth-model/part1 /tmp/hearth-model/part2 /tmp/hearth-model/part3 > "$f"
  fi
  if [[ -f "$f" ]] && echo "$MODEL_SHA  $f" | sha256sum -c --quiet; then
    export HEARTH_MODEL_DIR=/tmp/hearth-model
    log "default model assembled, SHA-256 ok"
  else
    rm -f "$f"
    log "default model not available: the model tests will skip"
  fi
}

phase_info() {
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit,pstate,temperature.gpu --format=csv
    nvidia-smi | head -15
    nvcc --version | tail -2
    uname -r
    nproc
    python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
  } 2>&1 | tee "$OUT/info.txt"
}

phase_ceilings() {
  log "ceilings"
  python3 scripts/gpu/ceilings.py "$OUT/ceilings.json" > "$OUT/ceilings.log" 2>&1 || tail -5 "$OUT/ceilings.log"
  cat "$OUT/ceilings.json" 2>/dev/null
}

# A decode step's 129 weight matrices as separate PyTorch streaming kernels (layer_streaming.py):
# what a chain of one kernel per matrix reaches on this GPU.
phase_streaming() {
  log "layer streaming"
  python3 scripts/gpu/layer_streaming.py "$OUT/streaming.json" > "$OUT/streaming.log" 2>&1 || tail -5 "$OUT/streaming.log"
  cat "$OUT/streaming.json" 2>/dev/null
}

phase_test() {
  log "synthetic_model_test"
  timeout 300 "$H/bin/synthetic_model_test" > "$OUT/test-synthetic.log" 2>&1
  tail -3 "$OUT/test-synthetic.log"
  log "cuda_backend_test"
  timeout 420 "$H/bin/cuda_backend_test" ${GTEST_FILTER:+--gtest_filter=$GTEST_FILTER} > "$OUT/test-cuda.log" 2>&1
  echo "cuda_backend_test exit $?"
  grep -E "^\[  (PASSED|FAILED|SKIPPED) |^\[ prompt|^\[ (default|synthetic)|identical|Failure|error:|Expected|Which is|vs " "$OUT/test-cuda.log" | head -60
}

# hearth bench on a synthetic model; $1 label, $2 model, rest: bench flags.
hb() {
  local label=$1 model=$2
  shift 2
  log "hearth bench $model $*"
  timeout 300 "$H/bin/hearth" bench --synthetic "$model" --quant "${QUANT:-q4_0}" --device cuda --json "$@" \
    > "$OUT/hearth-$label.json" 2> "$OUT/hearth-$label.err"
  local rc=$?
  [[ $rc -ne 0 ]] && { log "exit $rc"; tail -5 "$OUT/hearth-$label.err"; }
  python3 - "$OUT/hearth-$label.json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    print(f"  pp {r['pp_tokens_per_s']['median']:.1f} t/s  tg {r['tg_tokens_per_s']['median']:.2f} t/s  load {r['load_s']:.1f}s  bytes/token {r.get('bytes_per_token', 0)/1e9:.3f} GB")
except Exception as e:
    print("  no result:", e)
PY
}

phase_bench() {
  hb llama3-8b_tg128 llama3-8b -p 0 -g 128 -n 5
  hb llama3-8b_pp512 llama3-8b -p 512 -g 0 -b 512 -n 5
  hb llama3-8b_pp4096 llama3-8b -p 4096 -g 0 -b 4096 -n 3
  hb llama3-8b_d32k llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  hb qwen3-8b_tg128 qwen3-8b -p 512 -g 128 -b 512 -n 3
}

phase_variants() {
  HEARTH_CUDA_ATTN_BATCHED=0 hb llama3-8b_tg128_nobatched llama3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_ATTN_BATCHED=0 hb llama3-8b_d32k_nobatched llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  HEARTH_CUDA_FUSE_ROPE_ATTN=1 hb llama3-8b_tg128_ropeattn llama3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_MATVEC_PREFETCH=1 hb llama3-8b_tg128_prefetch1 llama3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_MATVEC_PREFETCH=1 hb qwen3-8b_tg128_prefetch1 qwen3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_FUSE_NORM=0 HEARTH_CUDA_FUSE_RESIDUAL=0 hb llama3-8b_tg128_nofold llama3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_ATTN_KEYS_PER_SPLIT=0 hb llama3-8b_tg128_allsplits llama3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_GRAPHS=0 hb llama3-8b_tg128_nographs llama3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_PDL=0 hb llama3-8b_tg128_nopdl llama3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_ATTN_KEYS_IN_FLIGHT=4 hb llama3-8b_d32k_u4 llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  HEARTH_CUDA_FUSE_ROPE_ATTN=1 hb llama3-8b_d32k_ropeattn llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  HEARTH_CUDA_PREFILL_ATTN_WARPS=4 hb llama3-8b_pp4096_attn4 llama3-8b -p 4096 -g 0 -b 4096 -n 3
  HEARTH_CUDA_BF16_CACHE=0 hb llama3-8b_pp512_nobf16cache llama3-8b -p 512 -g 0 -b 512 -n 3
  HEARTH_CUDA_FUSE_NORM=0 HEARTH_CUDA_FUSE_RESIDUAL=0 hb qwen3-8b_tg128_nofold qwen3-8b -p 0 -g 128 -n 3
}

# A/B of this session's changes, alternating (twice each) so drift hits every variant: rope +
# KV store inside the q/k/v matvec (default) against their own kernel; q4_0 matvec blocks of 24
# warps (one per multiprocessor, default) against 8. (Row groups dealt block by block, measured
# against dealt in turn in the session that made the change, has no switch any more.)
phase_ab() {
  for rep in 1 2; do
    hb ab${rep}_tg128_default llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_FUSE_ROPE_MATVEC=0 hb ab${rep}_tg128_ropekernel llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_MATVEC_WARPS=8 hb ab${rep}_tg128_w8 llama3-8b -p 0 -g 128 -n 3
  done
  hb ab_qwen_tg128_default qwen3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_FUSE_ROPE_MATVEC=0 hb ab_qwen_tg128_ropekernel qwen3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_MATVEC_WARPS=8 hb ab_qwen_tg128_w8 qwen3-8b -p 0 -g 128 -n 3
}

# Short-block q4_0 matvecs (matvec_short.cu, opt-in: HEARTH_CUDA_MATVEC_SHORT=7 all kinds, 6
# gate/up and down with the quantized handoff) against the resident 24-warp kernel (default),
# and the handoff off; alternated twice so drift hits every variant.
phase_short() {
  for rep in 1 2; do
    hb short${rep}_tg128_resident llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_MATVEC_SHORT=7 hb short${rep}_tg128_short7 llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_MATVEC_SHORT=6 hb short${rep}_tg128_short6 llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_MATVEC_SHORT=6 HEARTH_CUDA_QUANTIZED_HANDOFF=0 \
      hb short${rep}_tg128_short6_nohandoff llama3-8b -p 0 -g 128 -n 3
  done
  hb short_qwen_tg128_resident qwen3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_MATVEC_SHORT=6 hb short_qwen_tg128_short6 qwen3-8b -p 0 -g 128 -n 3
  hb short_d32k_resident llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  HEARTH_CUDA_MATVEC_SHORT=6 hb short_d32k_short6 llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
}

# The quantized handoffs (HEARTH_CUDA_MATVEC_SHORT bits: 1 q/k/v and head, 2 gate/up, 4 down,
# 8 o): 14 (o hands gate/up its residual row, gate/up hands down its output), 6 (gate/up ->
# down only), 15 (every kind) against the resident kernel (default); alternated three times.
phase_handoff() {
  for rep in 1 2 3; do
    hb handoff${rep}_tg128_resident llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_MATVEC_SHORT=6 hb handoff${rep}_tg128_short6 llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_MATVEC_SHORT=14 hb handoff${rep}_tg128_short14 llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_MATVEC_SHORT=15 hb handoff${rep}_tg128_short15 llama3-8b -p 0 -g 128 -n 3
  done
  HEARTH_CUDA_MATVEC_SHORT=14 HEARTH_CUDA_QUANTIZED_HANDOFF=0 \
    hb handoff_tg128_short14_nohandoff llama3-8b -p 0 -g 128 -n 3
  hb handoff_qwen_tg128_resident qwen3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_MATVEC_SHORT=6 hb handoff_qwen_tg128_short6 qwen3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_MATVEC_SHORT=14 hb handoff_qwen_tg128_short14 qwen3-8b -p 0 -g 128 -n 3
  hb handoff_d32k_resident llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  HEARTH_CUDA_MATVEC_SHORT=6 hb handoff_d32k_short6 llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  HEARTH_CUDA_MATVEC_SHORT=14 hb handoff_d32k_short14 llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
}

# Which matvec kinds gain or lose in short blocks (HEARTH_CUDA_MATVEC_SHORT bits: 1 q/k/v and
# head, 2 gate/up, 4 down, 8 o), with the decode fusions off, and with PDL or graphs off.
phase_short_kinds() {
  for rep in 1 2; do
    for mask in 15 0 1 2 4 6 8 14; do
      HEARTH_CUDA_MATVEC_SHORT=$mask hb kinds${rep}_tg128_mask$mask llama3-8b -p 0 -g 128 -n 3
    done
  done
  for mask in 15 0; do
    HEARTH_CUDA_MATVEC_SHORT=$mask HEARTH_CUDA_FUSE_NORM=0 HEARTH_CUDA_FUSE_RESIDUAL=0 \
      hb kinds_tg128_nofold_mask$mask llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_MATVEC_SHORT=$mask HEARTH_CUDA_FUSE_ROPE_MATVEC=0 \
      hb kinds_tg128_ropekernel_mask$mask llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_MATVEC_SHORT=$mask HEARTH_CUDA_PDL=0 hb kinds_tg128_nopdl_mask$mask llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_MATVEC_SHORT=$mask HEARTH_CUDA_GRAPHS=0 hb kinds_tg128_nographs_mask$mask llama3-8b -p 0 -g 128 -n 3
  done
}

# The decode attention's split merge (merge_splits, default) against the split-by-split one, at
# 32k and 8k; the matvec prologue timed by quantizing x twice (HEARTH_CUDA_MATVEC_X_PASSES=2); one
# split up to 48 keys (default) against 96 and 160.
phase_ab2() {
  for rep in 1 2; do
    hb ab2${rep}_d32k_default llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
    HEARTH_CUDA_ATTN_FAST_MERGE=0 hb ab2${rep}_d32k_oldmerge llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
    hb ab2${rep}_tg128_default llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_MATVEC_X_PASSES=2 hb ab2${rep}_tg128_x2 llama3-8b -p 0 -g 128 -n 3
  done
  hb ab2_d8k_default llama3-8b -p 0 -g 32 -d 8192 -b 4096 -n 3
  HEARTH_CUDA_ATTN_FAST_MERGE=0 hb ab2_d8k_oldmerge llama3-8b -p 0 -g 32 -d 8192 -b 4096 -n 3
  HEARTH_CUDA_ATTN_FAST_MERGE=0 hb ab2_tg128_oldmerge llama3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_ATTN_SINGLE_SPLIT_KEYS=160 hb ab2_tg128_single160 llama3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_ATTN_SINGLE_SPLIT_KEYS=96 hb ab2_tg128_single96 llama3-8b -p 0 -g 128 -n 3
  hb ab2_tg512_default llama3-8b -p 0 -g 512 -n 2
  HEARTH_CUDA_ATTN_SINGLE_SPLIT_KEYS=160 hb ab2_tg512_single160 llama3-8b -p 0 -g 512 -n 2
  # q8_0 (24-warp blocks for q8_0 were measured here with a build that had them: 0.7% slower).
  QUANT=q8_0 hb ab2_q8_tg128_default llama3-8b -p 0 -g 128 -n 3
}

# compute-sanitizer over the model tests that compare recorded and unrecorded decode steps: reads
# of memory never written (initcheck), out of bounds (memcheck), shared-memory races (racecheck).
phase_sanitize() {
  local cs
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  for tool in initcheck memcheck racecheck; do
    log "compute-sanitizer --tool $tool"
    timeout 150 "$cs" --tool "$tool" --print-limit 12 "$H/bin/cuda_backend_test" \
      --gtest_filter='CudaModelTest.RecordedDecode*:CudaModelTest.Synthetic*' \
      > "$OUT/sanitize-$tool.log" 2>&1
    echo "exit $?"
    grep -E "ERROR SUMMARY|Uninitialized|Invalid|[Rr]ace|hazard|at .*in |FAILED|PASSED" \
      "$OUT/sanitize-$tool.log" | head -24
  done
}

# Run to run: the default model's CPU-vs-CUDA statistics and the recorded-step test, twice each
# with the defaults, with 2 attention load stages, with f32 KV caches, with PDL off and with
# graphs off (a difference between repeats of one setting would be a race or a read of memory
# never written).
phase_repeat() {
  for v in "" "HEARTH_CUDA_ATTN_STAGES=2" "HEARTH_CUDA_KV_F16=0" "HEARTH_CUDA_PDL=0" "HEARTH_CUDA_GRAPHS=0"; do
    log "CudaModelTest.DefaultModel*:CudaModelTest.Recorded* x2 with ${v:-the defaults}"
    env $v timeout 200 "$H/bin/cuda_backend_test" \
      --gtest_filter='CudaModelTest.DefaultModel*:CudaModelTest.Recorded*' \
      --gtest_repeat=2 > "$OUT/test-repeat.log" 2>&1
    echo "exit $?"
    grep -E "^\[ default|^\[ prompt|^[0-9] of 5|Failure|differ from" "$OUT/test-repeat.log" | head -20
  done
}

# Every CUDA test with each new device buffer filled with NaN bytes (HEARTH_CUDA_POISON=1): a
# kernel reading memory nothing wrote shows as a NaN or a failed comparison; the model tests twice.
phase_poison() {
  log "cuda_backend_test with HEARTH_CUDA_POISON=1"
  HEARTH_CUDA_POISON=1 timeout 300 "$H/bin/cuda_backend_test" > "$OUT/test-poison.log" 2>&1
  echo "exit $?"
  grep -E "^\[  (PASSED|FAILED) |^\[ (default|synthetic)|of 5 prompts|Failure|error:|vs " "$OUT/test-poison.log" | head -30
  HEARTH_CUDA_POISON=1 timeout 200 "$H/bin/cuda_backend_test" --gtest_filter='CudaModelTest.*' \
    --gtest_repeat=2 > "$OUT/test-poison-repeat.log" 2>&1
  echo "exit $?"
  grep -E "^\[  (PASSED|FAILED) |^\[ (default|synthetic)|Failure|differ from" "$OUT/test-poison-repeat.log" | head -30
}

# The whole-model tests once more with the decode fusions switched (the default run is `test`).
phase_modelvariants() {
  for v in "HEARTH_CUDA_FUSE_ROPE_ATTN=1" "HEARTH_CUDA_FUSE_NORM=0 HEARTH_CUDA_FUSE_RESIDUAL=0 HEARTH_CUDA_ATTN_KEYS_PER_SPLIT=0"; do
    log "cuda_backend_test CudaModelTest.* with $v"
    env $v timeout 200 "$H/bin/cuda_backend_test" --gtest_filter='CudaModelTest.*' > "$OUT/test-model-variant.log" 2>&1
    echo "exit $?"
    grep -E "^\[  (PASSED|FAILED) |^\[ prompt|^\[ (default|synthetic)|identical|Failure" "$OUT/test-model-variant.log" | head -20
  done
}

LLAMA_BIN=/tmp/llama/llama-bench

# llama-bench (40 MB) travels in a call of its own; it stays in /tmp while the machine is warm.
phase_stash_llama() {
  if [[ ! -x "$LLAMA_BIN" && -f .device/llama/llama-bench.tar.xz ]]; then
    mkdir -p /tmp/llama && tar -xJf .device/llama/llama-bench.tar.xz -C /tmp/llama
  fi
  ls -la /tmp/llama 2>&1 | head -5
}

phase_llama() {
  local gguf=/tmp/llama3-8b-q4_0.gguf
  phase_stash_llama
  export LD_LIBRARY_PATH="/tmp/llama:$LD_LIBRARY_PATH"
  [[ -x "$LLAMA_BIN" ]] || { log "no llama-bench (.device/llama/llama-bench.tar.xz)"; return; }
  if [[ ! -f "$gguf" ]]; then
    log "writing $gguf"
    "$H/bin/hearth" bench --synthetic llama3-8b --quant q4_0 --write-gguf "$gguf" || return
  fi
  local lb=$LLAMA_BIN
  log "llama-bench tg128 pp512 pp4096"
  timeout 300 "$lb" -m "$gguf" -ngl 99 -fa on -p 512,4096 -n 128 -r 5 -o json \
    > "$OUT/llama-llama3-8b.json" 2> "$OUT/llama-llama3-8b.err" || tail -5 "$OUT/llama-llama3-8b.err"
  log "llama-bench tg32 @ d32768"
  timeout 300 "$lb" -m "$gguf" -ngl 99 -fa on -p 0 -n 32 -d 32768 -r 3 -o json \
    > "$OUT/llama-llama3-8b-d32k.json" 2> "$OUT/llama-llama3-8b-d32k.err" || tail -5 "$OUT/llama-llama3-8b-d32k.err"
  grep -E "avg_ts|n_prompt|n_gen|n_depth" "$OUT"/llama-*.json | tr -s ' ' | paste - - - - | head
}

# ncu over hearth bench (graphs off, so each launch is seen): $1 label, $2 kernel regex, $3
# kernels to profile, $4 metrics (comma-separated), rest: bench flags. Prints a line per kernel:
# its name and each metric's value, in the order asked.
ncu_bench() {
  local label=$1 regex=$2 count=$3 metrics=$4
  shift 4
  HEARTH_CUDA_GRAPHS=0 timeout 240 ncu --clock-control none --csv -c "$count" -k regex:"$regex" \
    --metrics "$metrics" \
    "$H/bin/hearth" bench --synthetic llama3-8b --quant q4_0 --device cuda "$@" \
    > "$OUT/ncu-$label.csv" 2> "$OUT/ncu-$label.err"
  python3 - "$OUT/ncu-$label.csv" "$metrics" <<'PY'
import csv, sys, re
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
if not rows:
    print("no ncu rows"); sys.exit()
head = rows[0]
ki, ii = head.index("Kernel Name"), head.index("ID")
mi, vi, ui = head.index("Metric Name"), head.index("Metric Value"), head.index("Metric Unit")
kernels = {}
for r in rows[1:]:
    name = re.sub(r"\(.*", "", r[ki]).split("::")[-1][:40]
    kernels.setdefault(r[ii], [name, {}])[1][r[mi]] = f"{r[vi]} {r[ui]}".strip()
order = sys.argv[2].split(",")
for name, m in kernels.values():
    print(f"{name:40s} " + "  ".join(f"{k.split('__')[-1]} {m.get(k, '?')}" for k in order))
PY
}

phase_profile() {
  log "ncu: decode kernels of a step at 64 tokens of context"
  ncu_bench decode "matvec|decode_attention" "${NCU_KERNELS:-24}" \
    gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,dram__bytes_read.sum \
    -p 64 -g 2 -n 1
}

# The decode kernels of a step with the short-block matvecs and with the resident ones (ncu,
# one kernel at a time): time, DRAM, registers, grid, occupancy, issue activity.
phase_profile_short() {
  local m=gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,launch__registers_per_thread,launch__grid_size,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active
  log "ncu: decode kernels, short-block matvecs"
  HEARTH_CUDA_MATVEC_SHORT=${NCU_MASK:-14} ncu_bench short "matvec|decode_attention" "${NCU_KERNELS:-14}" "$m" -p 64 -g 2 -n 1
  log "ncu: decode kernels, resident matvecs"
  HEARTH_CUDA_MATVEC_SHORT=0 ncu_bench resident "matvec|decode_attention" "${NCU_KERNELS:-14}" "$m" -p 64 -g 2 -n 1
}

# The decode attention at 32k tokens of context: time, DRAM, registers, occupancy, issue, stalls.
phase_profile32k() {
  log "ncu: decode attention at 32k"
  ncu_bench attn32k decode_attention 4 \
    gpu__time_duration.sum,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,launch__registers_per_thread,launch__grid_size,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active,smsp__warp_issue_stalled_long_scoreboard_per_warp_active.pct,smsp__warp_issue_stalled_short_scoreboard_per_warp_active.pct \
    -p 0 -g 2 -d 32768 -b 4096 -n 1
}

# The decode attention on the tensor cores (attention_decode_mma.cu) against the CUDA-core kernel
# (HEARTH_CUDA_ATTN_MMA=0), alternated twice at 32k, 8k and tg128; the grid sized for 2 blocks a
# multiprocessor (the mma kernel's residency) too.
phase_mma() {
  for rep in 1 2; do
    hb mma${rep}_d32k_mma llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
    HEARTH_CUDA_ATTN_MMA=0 hb mma${rep}_d32k_cores llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  done
  HEARTH_CUDA_ATTN_BLOCKS_PER_SM=2 hb mma_d32k_mma_grid2 llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  HEARTH_CUDA_ATTN_BLOCKS_PER_SM=3 hb mma_d32k_mma_grid3 llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  for rep in 1 2; do
    hb mma${rep}_d8k_mma llama3-8b -p 0 -g 32 -d 8192 -b 4096 -n 3
    HEARTH_CUDA_ATTN_MMA=0 hb mma${rep}_d8k_cores llama3-8b -p 0 -g 32 -d 8192 -b 4096 -n 3
    hb mma${rep}_tg128_mma llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_ATTN_MMA=0 hb mma${rep}_tg128_cores llama3-8b -p 0 -g 128 -n 3
  done
  hb mma_qwen_d32k_mma qwen3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  HEARTH_CUDA_ATTN_MMA=0 hb mma_qwen_d32k_cores qwen3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
}

phase_mma2() {
  for rep in 1 2; do
    hb mma2_${rep}_d32k_mma llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
    HEARTH_CUDA_ATTN_MMA_STAGES=2 hb mma2_${rep}_d32k_ring2 llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
    HEARTH_CUDA_ATTN_MMA_STAGES=3 hb mma2_${rep}_d32k_ring3 llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
    HEARTH_CUDA_ATTN_MMA=0 hb mma2_${rep}_d32k_cores llama3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
    hb mma2_${rep}_tg128_mma llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_ATTN_MMA=0 hb mma2_${rep}_tg128_cores llama3-8b -p 0 -g 128 -n 3
    HEARTH_CUDA_ATTN_MMA_STAGES=3 hb mma2_${rep}_tg128_ring3 llama3-8b -p 0 -g 128 -n 3
  done
  hb mma2_qwen_d32k_mma qwen3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  HEARTH_CUDA_ATTN_MMA=0 hb mma2_qwen_d32k_cores qwen3-8b -p 0 -g 32 -d 32768 -b 4096 -n 3
  hb mma2_qwen_tg128_mma qwen3-8b -p 0 -g 128 -n 3
  HEARTH_CUDA_ATTN_MMA=0 hb mma2_qwen_tg128_cores qwen3-8b -p 0 -g 128 -n 3
  for stages in 2 3; do
    HEARTH_CUDA_ATTN_MMA_STAGES=$stages ncu_bench attn32k_ring$stages decode_attention 2 \
      gpu__time_duration.sum,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,launch__registers_per_thread,launch__grid_size,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__warp_issue_stalled_long_scoreboard_per_warp_active.pct \
      -p 0 -g 2 -d 32768 -b 4096 -n 1
  done
}

PHASES=("$@")
setup
for phase in "$@"; do
  "phase_$phase"
done
log "done"
python3 scripts/gpu/summarize.py "$OUT"
cp "$OUT/summary.md" "$RESULTS/" 2>/dev/null
tar -czf "$RESULTS/run.tar.gz" -C "$OUT" .
