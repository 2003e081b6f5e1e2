// make_cuda_backend() of a build with -DHEARTH_CUDA=ON. Environment switches for measurements:
// HEARTH_CUDA_GRAPHS=0 (no recorded decode steps), HEARTH_CUDA_PDL=0 (no programmatic dependent
// launch), HEARTH_CUDA_BF16_CACHE=0 (dequantize weights per prefill GEMM), HEARTH_CUDA_FUSE_NORM=0
// and HEARTH_CUDA_FUSE_RESIDUAL=0 (separate norm / add launches in decode),
// HEARTH_CUDA_MATVEC_BLOCKS_PER_SM=N (cap the matvec grids), HEARTH_CUDA_MATVEC_PREFETCH=1|2
// (weight load rounds a matvec issues before waiting for the previous kernel),
// HEARTH_CUDA_ATTN_KEYS_PER_SPLIT=N (decode attention: live keys per split; 0 uses every split of
// the grid), HEARTH_CUDA_ATTN_SINGLE_SPLIT_KEYS=N (one split, no merge, up to N live keys),
// HEARTH_CUDA_PREFILL_ATTN_WARPS=4|8 (query rows per prefill attention block / 16),
// HEARTH_CUDA_FUSE_ROPE_ATTN=1 (decode rope + KV store inside attention; off by default: slower
// in docs/PERFORMANCE.md; it turns the rope in the q/k/v matvec off),
// HEARTH_CUDA_FUSE_ROPE_MATVEC=0 (decode rope + KV store in their own kernel, not in the q/k/v
// matvec), HEARTH_CUDA_MATVEC_WARPS=8|24 (warps per q4_0 matvec block),
// HEARTH_CUDA_ATTN_FAST_MERGE=0 (decode attention's splits merged one after another),
// HEARTH_CUDA_ATTN_MMA=0 (decode attention on the CUDA cores only, not the tensor-core kernel),
// HEARTH_CUDA_ATTN_MMA_STAGES=2|3 (its keys through a cp.async ring of that many tiles a warp),
// HEARTH_CUDA_MATVEC_X_PASSES=2 (quantized matvecs quantize x twice: the difference in time is
// what the prologue costs; results unchanged),
// HEARTH_CUDA_ATTN_KEYS_IN_FLIGHT=2|4 and HEARTH_CUDA_ATTN_BLOCKS_PER_SM=N (decode attention's
// loads ahead per warp and grid), HEARTH_CUDA_ATTN_BATCHED=0 (decode attention's softmax one key
// at a time instead of softmax_keys over a warp's keys in flight), HEARTH_CUDA_KV_F16=0 (f32 KV
// caches instead of f16), HEARTH_CUDA_ATTN_STAGES=2|3|4 (decode attention: rounds of keys a warp
// has loading at once).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "backend/backend_factory.h"
#include "backend/cuda/cuda_backend.h"

namespace hearth {
namespace {

bool env_off(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, "0") == 0;
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return *end == '\0' && n >= 0 && n <= (1 << 20) ? static_cast<int>(n) : fallback;
}

}  // namespace

bool cuda_backend_built() {
  return true;
}

Expected<std::unique_ptr<Backend>> make_cuda_backend(int device) {
  cuda::CudaBackendOptions options;
  options.device = device;
  options.graphs = !env_off("HEARTH_CUDA_GRAPHS");
  options.pdl = !env_off("HEARTH_CUDA_PDL");
  options.cache_bf16 = !env_off("HEARTH_CUDA_BF16_CACHE");
  options.fuse_norm = !env_off("HEARTH_CUDA_FUSE_NORM");
  options.fuse_residual = !env_off("HEARTH_CUDA_FUSE_RESIDUAL");
  options.fuse_rope_attention = env_int("HEARTH_CUDA_FUSE_ROPE_ATTN", 0) == 1;
  options.fuse_rope_matvec =
      !env_off("HEARTH_CUDA_FUSE_ROPE_MATVEC") && !options.fuse_rope_attention;
  options.kv_f16 = !env_off("HEARTH_CUDA_KV_F16");
  options.quantized_handoff = !env_off("HEARTH_CUDA_QUANTIZED_HANDOFF");
  cuda::KernelTuning& t = options.tuning;
  t.matvec_blocks_per_sm = env_int("HEARTH_CUDA_MATVEC_BLOCKS_PER_SM", t.matvec_blocks_per_sm);
  t.matvec_prefetch_rounds =
      env_int("HEARTH_CUDA_MATVEC_PREFETCH", t.matvec_prefetch_rounds) == 1 ? 1 : 2;
  t.matvec_warps = env_int("HEARTH_CUDA_MATVEC_WARPS", t.matvec_warps) == 8 ? 8 : 24;
  t.matvec_x_passes = std::clamp(env_int("HEARTH_CUDA_MATVEC_X_PASSES", 1), 1, 4);
  t.matvec_short = env_int("HEARTH_CUDA_MATVEC_SHORT", t.matvec_short) & 15;
  t.attention_keys_per_split =
      env_int("HEARTH_CUDA_ATTN_KEYS_PER_SPLIT", t.attention_keys_per_split);
  t.attention_single_split_keys =
      env_int("HEARTH_CUDA_ATTN_SINGLE_SPLIT_KEYS", t.attention_single_split_keys);
  t.attention_keys_in_flight =
      env_int("HEARTH_CUDA_ATTN_KEYS_IN_FLIGHT", t.attention_keys_in_flight);
  t.attention_batched_softmax = !env_off("HEARTH_CUDA_ATTN_BATCHED");
  t.attention_fast_merge = !env_off("HEARTH_CUDA_ATTN_FAST_MERGE");
  t.attention_mma = !env_off("HEARTH_CUDA_ATTN_MMA");
  t.attention_mma_stages = env_int("HEARTH_CUDA_ATTN_MMA_STAGES", t.attention_mma_stages);
  t.attention_load_stages = env_int("HEARTH_CUDA_ATTN_STAGES", t.attention_load_stages);
  t.attention_blocks_per_sm =
      std::max(1, env_int("HEARTH_CUDA_ATTN_BLOCKS_PER_SM", t.attention_blocks_per_sm));
  t.prefill_attention_warps =
      env_int("HEARTH_CUDA_PREFILL_ATTN_WARPS", t.prefill_attention_warps) == 4 ? 4 : 8;
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<cuda::CudaBackend> backend,
                          cuda::CudaBackend::create(options));
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace hearth
