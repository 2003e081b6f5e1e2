// Decode matrix-vector products: y = x . W^T for one token, streaming each weight byte once.
//
// Quantized weights (q4_0, q4_1, q8_0): every block first quantizes x to int8 per 32 elements in
// shared memory (scale d_x = amax / 127, as q8_0; 16-byte loads, one 8-lane group per block of
// 32), then each warp takes R rows at a time; lane l reads 32-element weight blocks l, l + 32, ...
// with one 16-byte load each (two for q8_0) and does the block's dot product with 8 dp4a
// instructions. Each lane issues the loads of U blocks (of all its R rows) before using any, so
// about 8 independent 16-byte loads are in flight per lane. Float weights (f32, f16, bf16) keep
// x in f32 in shared memory and read 8 weights per 16-byte load (two loads for f32).
// Up to three weights sharing x (q/k/v) run in one launch; gate/up with silu(g)*u fused.
// Decode fusions (MatvecFusion): an rms_norm in front, and a residual add or rope + KV store
// behind, so a layer's norms, adds and ropes need no launches of their own (see the Batch
// fields). Row groups are dealt to the blocks in turn (group g to block g % grid), so a matrix
// with fewer groups than the grid has warps spreads them over every multiprocessor.
#include "backend/cuda/kernels/matvec_common.cuh"

#include <algorithm>
#include <type_traits>

namespace hearth::cuda {
namespace {

using namespace matvec_detail;

constexpr int kWarps = 8;  // per block of the float kernel, and the quantized one by default
constexpr int kThreads = kWarps * 32;
// Resident blocks per multiprocessor the register allocation must allow: q4_0 fits 3 (24 warps)
// in 80 registers without spilling except with 4 gate/up row pairs; the fused norm's prologue
// would otherwise push it to 2. Blocks of 24 warps (one per multiprocessor, the same 80
// registers) quantize x once per multiprocessor instead of three times.
template <WeightFormat F, int R, bool kSwiglu, int W>
constexpr int kMinBlocks = W == 24                                            ? 1
                           : F == WeightFormat::kQ4_0 && !(R == 4 && kSwiglu) ? 3
                                                                              : 1;

template <WeightFormat F, int R, bool kSwiglu, int W>
__global__ void __launch_bounds__(W * 32, kMinBlocks<F, R, kSwiglu, W>)
    matvec_quantized_kernel(Batch batch) {
  extern __shared__ __align__(16) unsigned char smem[];
  constexpr int kMats = kSwiglu ? 2 : 1;
  constexpr int kLoads = F == WeightFormat::kQ8_0 ? 2 : 1;
  constexpr int U = std::max(1, 4 / (R * kMats * kLoads));  // blocks per lane per round
  const int64_t nb = batch.k / 32;
  int8_t* xq = reinterpret_cast<int8_t*>(smem);            // [k]
  float2* xs = reinterpret_cast<float2*>(smem + batch.k);  // [nb]: (d_x, d_x * sum q_x)
  double2* rope_table = reinterpret_cast<double2*>(smem + rope_table_offset(batch.k));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t groups = batch.group_end[batch.n_targets - 1];
  allow_next_kernel();
  fill_rope_table(batch, rope_table);

  // Two rounds of weight loads in registers: round r + 1 is loaded while round r is used, so
  // a lane always has loads in flight. The weights do not depend on the previous kernel: the
  // first round of this warp's first group is loaded before waiting for it, so the previous
  // kernel's tail hides this kernel's ramp-up.
  BlockBits<F> cur[U][kMats][R], next[U][kMats][R];
  const auto load_round = [&](BlockBits<F>(&bits)[U][kMats][R], const GroupRows& gr, int64_t b0) {
    const DeviceMatrix& w0 = batch.w[gr.target];
    const DeviceMatrix& w1 = batch.w[kSwiglu ? 1 : gr.target];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int64_t b = min(b0 + 32 * u, nb - 1);  // past the end: a repeat, not used
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const int64_t row_base = min(gr.row(r), w0.rows - 1) * nb;
        load_block<F>(w0, row_base + b, bits[u][0][r]);
        if constexpr (kSwiglu) load_block<F>(w1, row_base + b, bits[u][kMats - 1][r]);
      }
    }
  };
  int64_t g = int64_t{warp} * gridDim.x + blockIdx.x;
  GroupRows gr{};
  bool next_ready = false;  // the first group's second round is in flight too
  if (g < groups) {
    gr = locate_group(batch, g, R);
    load_round(cur, gr, lane);
    if (batch.prefetch_two && lane + 32 * U < nb) {
      load_round(next, gr, lane + 32 * U);
      next_ready = true;
    }
  }
  wait_for_previous_kernel();
  // Few loads in flight per thread here: the first two rounds of weights are live already
  // (more would spill); the fused norm loads x and its weight, so half as many again.
  __shared__ float reduce_scratch[32];
  float scale = 1.0f;
  for (int pass = 0; pass < batch.x_passes; ++pass) {
    if (pass > 0) __syncthreads();  // the previous pass's readers of reduce_scratch are done
    if (batch.norm_weight != nullptr) {
      const float ss = quantize_x<true, 1, W * 32>(batch.x, batch.norm_weight, batch.k, xq, xs);
      scale = norm_scale(batch, ss, reduce_scratch);
    } else {
      quantize_x<false, 2, W * 32>(batch.x, nullptr, batch.k, xq, xs);
    }
  }
  __syncthreads();

  while (g < groups) {
    float acc[kMats][R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int m = 0; m < kMats; ++m) acc[m][r] = 0.0f;
    }
    for (int64_t b0 = lane; b0 < nb; b0 += 32 * U) {
      const bool more = b0 + 32 * U < nb;
      if (more && !next_ready) load_round(next, gr, b0 + 32 * U);
      next_ready = false;
#pragma unroll
      for (int u = 0; u < U; ++u) accumulate_block<F>(cur[u], xq, xs, b0 + 32 * u, nb, acc);
      if (more) {
#pragma unroll
        for (int u = 0; u < U; ++u) {
#pragma unroll
          for (int m = 0; m < kMats; ++m) {
#pragma unroll
            for (int r = 0; r < R; ++r) cur[u][m][r] = next[u][m][r];
          }
        }
      }
    }
    const GroupRows done = gr;
    g += int64_t{gridDim.x} * W;
    if (g < groups) {  // the next group's first round, before this group's reductions
      gr = locate_group(batch, g, R);
      load_round(cur, gr, lane);
    }
    write_rows<R>(batch, done, acc[0], acc[kMats - 1], scale, lane, rope_table);
  }
}

template <typename T>
__device__ __forceinline__ void load8(const T* p, float out[8]);
template <>
__device__ __forceinline__ void load8<float>(const float* p, float out[8]) {
  const float4 a = __ldg(reinterpret_cast<const float4*>(p));
  const float4 b = __ldg(reinterpret_cast<const float4*>(p) + 1);
  out[0] = a.x;
  out[1] = a.y;
  out[2] = a.z;
  out[3] = a.w;
  out[4] = b.x;
  out[5] = b.y;
  out[6] = b.z;
  out[7] = b.w;
}
template <>
__device__ __forceinline__ void load8<__half>(const __half* p, float out[8]) {
  const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
  const __half2* h = reinterpret_cast<const __half2*>(&v);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __half22float2(h[i]);
    out[2 * i] = f.x;
    out[2 * i + 1] = f.y;
  }
}
template <>
__device__ __forceinline__ void load8<__nv_bfloat16>(const __nv_bfloat16* p, float out[8]) {
  const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
  const uint32_t* u = reinterpret_cast<const uint32_t*>(&v);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    out[2 * i] = __uint_as_float(u[i] << 16);
    out[2 * i + 1] = __uint_as_float(u[i] & 0xffff0000u);
  }
}
template <typename T>
__device__ __forceinline__ float load1(const T* p) {
  if constexpr (std::is_same_v<T, float>) {
    return *p;
  } else if constexpr (std::is_same_v<T, __half>) {
    return __half2float(*p);
  } else {
    return __bfloat162float(*p);
  }
}

template <typename T>
__device__ __forceinline__ float dot_row(const T* row, const float* xf, int64_t k, int lane) {
  float acc = 0.0f;
  if (k % 8 == 0) {
    for (int64_t c = lane; c < k / 8; c += 32) {
      float w[8];
      load8<T>(row + c * 8, w);
      const float4 x0 = *reinterpret_cast<const float4*>(xf + c * 8);
      const float4 x1 = *reinterpret_cast<const float4*>(xf + c * 8 + 4);
      acc += w[0] * x0.x + w[1] * x0.y + w[2] * x0.z + w[3] * x0.w + w[4] * x1.x + w[5] * x1.y +
             w[6] * x1.z + w[7] * x1.w;
    }
  } else {
    for (int64_t c = lane; c < k; c += 32) acc += load1<T>(row + c) * xf[c];
  }
  return acc;
}

template <typename T, int R>
__global__ void __launch_bounds__(kThreads) matvec_float_kernel(Batch batch) {
  extern __shared__ __align__(16) unsigned char smem[];
  float* xf = reinterpret_cast<float*>(smem);  // [k]
  double2* rope_table = reinterpret_cast<double2*>(smem + float_rope_table_offset(batch.k));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  allow_next_kernel();
  fill_rope_table(batch, rope_table);
  wait_for_previous_kernel();
  for (int64_t i = threadIdx.x; i < batch.k; i += kThreads) xf[i] = batch.x[i];
  __syncthreads();
  const int64_t groups = batch.group_end[batch.n_targets - 1];
  for (int64_t g = int64_t{warp} * gridDim.x + blockIdx.x; g < groups;
       g += int64_t{gridDim.x} * kWarps) {
    const GroupRows gr = locate_group(batch, g, R);
    const DeviceMatrix& w = batch.w[gr.target];
    float acc[R], up[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int64_t row = min(gr.row(r), w.rows - 1);
      acc[r] = dot_row(static_cast<const T*>(w.quants) + row * batch.k, xf, batch.k, lane);
      up[r] = batch.swiglu ? dot_row(static_cast<const T*>(batch.w[1].quants) + row * batch.k, xf,
                                     batch.k, lane)
                           : 0.0f;
    }
    write_rows<R>(batch, gr, acc, up, 1.0f, lane, rope_table);
  }
}

using KernelPtr = void (*)(Batch);

// Warps per block: tuning.matvec_warps (8 or 24) for q4_0 where 80 registers hold a block's
// rounds without spilling (all but 4 gate/up row pairs), else 8. (q8_0 in 24-warp blocks where
// they fit measured 0.7% slower: its larger rows leave less to gain from one quantization of x.)
constexpr bool wide_blocks_fit(WeightFormat f, int rows_per_group, bool swiglu) {
  return f == WeightFormat::kQ4_0 && !(rows_per_group == 4 && swiglu);
}

int block_warps(const LaunchContext& ctx, WeightFormat f, int rows_per_group, bool swiglu) {
  return ctx.tuning.matvec_warps == 24 && wide_blocks_fit(f, rows_per_group, swiglu) ? 24 : kWarps;
}

template <int R, bool kSwiglu, int W>
KernelPtr kernel_for(WeightFormat f) {
  // 24-warp blocks only where block_warps() picks them (else they would spill).
  constexpr int kQ4Warps =
      W == 24 && wide_blocks_fit(WeightFormat::kQ4_0, R, kSwiglu) ? 24 : kWarps;
  switch (f) {
    case WeightFormat::kQ4_0:
      return matvec_quantized_kernel<WeightFormat::kQ4_0, R, kSwiglu, kQ4Warps>;
    case WeightFormat::kQ4_1:
      return matvec_quantized_kernel<WeightFormat::kQ4_1, R, kSwiglu, kWarps>;
    case WeightFormat::kQ8_0:
      return matvec_quantized_kernel<WeightFormat::kQ8_0, R, kSwiglu, kWarps>;
    case WeightFormat::kF16:
      return matvec_float_kernel<__half, R>;
    case WeightFormat::kBF16:
      return matvec_float_kernel<__nv_bfloat16, R>;
    case WeightFormat::kF32:
      return matvec_float_kernel<float, R>;
  }
  return nullptr;
}

template <int R, bool kSwiglu>
KernelPtr kernel_for(WeightFormat f, int warps) {
  return warps == 24 ? kernel_for<R, kSwiglu, 24>(f) : kernel_for<R, kSwiglu, kWarps>(f);
}

KernelPtr kernel_for(WeightFormat f, int rows_per_group, bool swiglu, int warps) {
  switch (rows_per_group) {
    case 4:
      return swiglu ? kernel_for<4, true>(f, warps) : kernel_for<4, false>(f, warps);
    case 2:
      return swiglu ? kernel_for<2, true>(f, warps) : kernel_for<2, false>(f, warps);
    default:
      return swiglu ? kernel_for<1, true>(f, warps) : kernel_for<1, false>(f, warps);
  }
}

size_t shared_bytes(const Batch& batch) {
  const int64_t k = batch.k;
  const bool quantized = is_quantized(batch.w[0].format);
  const size_t table = batch.rope_position != nullptr
                           ? static_cast<size_t>(batch.rope_dim / 2) * sizeof(double2)
                           : 0;
  return (quantized ? rope_table_offset(k) : float_rope_table_offset(k)) + table;
}

constexpr size_t kMaxSharedBytes = 200 * 1024;

// Groups of R rows for `batch`'s targets (fills group_end).
int64_t count_groups(Batch& batch, int rows_per_group) {
  int64_t groups = 0;
  for (int t = 0; t < batch.n_targets; ++t) {
    groups += (batch.w[t].rows + rows_per_group - 1) / rows_per_group;
    batch.group_end[t] = groups;
  }
  return groups;
}

// Blocks of `warps` warps resident at once on the whole GPU.
int resident_blocks(const LaunchContext& ctx, KernelPtr kernel, int warps, size_t smem) {
  int per_sm = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, warps * 32, smem) !=
      cudaSuccess) {
    (void)cudaGetLastError();
    per_sm = 1;
  }
  if (ctx.tuning.matvec_blocks_per_sm > 0) {
    per_sm = std::min(per_sm, ctx.tuning.matvec_blocks_per_sm);
  }
  return std::max(1, per_sm) * ctx.sm_count;
}

// Rows per warp: the grid is at most what the GPU holds at once (one wave, warps looping over
// row groups), and R (4, 2 or 1) the one that gives the busiest warp the fewest rows (the
// larger R on a tie: fewer instructions per byte). The rope needs whole pairs in a group: R > 1.
cudaError_t launch_any(const LaunchContext& ctx, Batch& batch) {
  const WeightFormat f = batch.w[0].format;
  const size_t smem = shared_bytes(batch);
  if (smem > kMaxSharedBytes) return cudaErrorInvalidValue;
  batch.prefetch_two = ctx.tuning.matvec_prefetch_rounds >= 2;
  batch.x_passes = std::max(1, ctx.tuning.matvec_x_passes);
  if (short_matvec_takes(ctx, batch)) return launch_short_matvec(ctx, batch);
  // Only the short kernel reads or writes quantized rows.
  if (batch.quantized_x != nullptr || batch.quantized_y != nullptr) return cudaErrorInvalidValue;
  struct Choice {
    int rows_per_group, warps, resident;
    KernelPtr kernel;
  };
  Choice best{};
  int64_t best_rows = INT64_MAX;
  for (int rows_per_group : {4, 2, 1}) {
    if (rows_per_group == 1 && batch.rope_position != nullptr) continue;
    const int warps = block_warps(ctx, f, rows_per_group, batch.swiglu);
    const KernelPtr kernel = kernel_for(f, rows_per_group, batch.swiglu, warps);
    const int resident = resident_blocks(ctx, kernel, warps, smem);
    const int64_t groups = count_groups(batch, rows_per_group);
    const int64_t all_warps = int64_t{resident} * warps;
    const int64_t rows = (groups + all_warps - 1) / all_warps * rows_per_group;
    if (rows < best_rows) {
      best_rows = rows;
      best = {rows_per_group, warps, resident, kernel};
    }
  }
  const int64_t groups = count_groups(batch, best.rows_per_group);
  const int64_t wanted = (groups + best.warps - 1) / best.warps;
  const unsigned grid =
      static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(wanted, best.resident)));
  return launch_kernel(ctx, best.kernel, dim3(grid), dim3(static_cast<unsigned>(best.warps * 32)),
                       smem, batch);
}

bool format_matches(const DeviceMatrix& a, const DeviceMatrix& b) {
  return a.format == b.format && a.cols == b.cols;
}

}  // namespace

cudaError_t matvec_init() {
  for (WeightFormat f : {WeightFormat::kQ4_0, WeightFormat::kQ4_1, WeightFormat::kQ8_0,
                         WeightFormat::kF32, WeightFormat::kF16, WeightFormat::kBF16}) {
    for (int rows_per_group : {1, 2, 4}) {
      for (bool swiglu : {false, true}) {
        for (int warps : {kWarps, 24}) {
          const cudaError_t e = cudaFuncSetAttribute(kernel_for(f, rows_per_group, swiglu, warps),
                                                     cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                     static_cast<int>(kMaxSharedBytes));
          if (e != cudaSuccess) return e;
        }
      }
    }
  }
  return cudaSuccess;
}

namespace {

// The fusions a launch asks for, checked against what the kernels can do.
bool apply_fusion(const MatvecFusion& fusion, Batch& batch) {
  if (fusion.norm_weight != nullptr) {
    if (!is_quantized(batch.w[0].format) || fusion.norm_out == nullptr || batch.k % 4 != 0) {
      return false;
    }
    batch.norm_weight = fusion.norm_weight;
    batch.norm_out = fusion.norm_out;
    batch.norm_eps = fusion.norm_eps;
  }
  if (fusion.residual_out != nullptr) {
    if (batch.swiglu || batch.n_targets != 1 || fusion.residual_in == nullptr) return false;
    batch.residual_in = fusion.residual_in;
    batch.residual_out = fusion.residual_out;
  }
  if (const QuantizedRow* qx = fusion.quantized_x; qx != nullptr) {
    if (qx->q == nullptr || (fusion.norm_weight != nullptr && qx->sum_squares == nullptr)) {
      return false;
    }
    batch.quantized_x = qx->q;
    batch.quantized_x_scales = qx->scales;
    if (fusion.norm_weight != nullptr) batch.quantized_x_sum_squares = qx->sum_squares;
  }
  if (const QuantizedRow* qy = fusion.quantized_out; qy != nullptr) {
    if (qy->q == nullptr || batch.n_targets != 1 || fusion.rope != nullptr ||
        (fusion.quantized_out_norm_weight != nullptr && qy->sum_squares == nullptr)) {
      return false;
    }
    batch.quantized_y = qy->q;
    batch.quantized_y_scales = qy->scales;
    if (fusion.quantized_out_norm_weight != nullptr) {
      batch.quantized_y_sum_squares = qy->sum_squares;
      batch.quantized_y_norm_weight = fusion.quantized_out_norm_weight;
    }
  }
  if (const MatvecRope* rope = fusion.rope; rope != nullptr) {
    if (batch.swiglu || batch.n_targets != 3 || fusion.residual_out != nullptr ||
        rope->position == nullptr || rope->keys == nullptr || rope->values == nullptr ||
        !matvec_fuses_rope(batch.w[0], batch.w[1], batch.w[2], rope->head_dim, rope->params)) {
      return false;
    }
    batch.rope_position = rope->position;
    batch.rope_head_dim = static_cast<int>(rope->head_dim);
    batch.rope_dim = rope->params.rotary_dim;
    batch.rope_half = rope->params.adjacent_pairs ? 0 : rope->params.rotary_dim / 2;
    batch.kv_f16 = rope->kv == KvFormat::kF16;
    batch.keys = rope->keys;
    batch.values = rope->values;
    for (int i = 0; i < rope->params.rotary_dim / 2; ++i) {
      batch.inv_freq[i] = rope->params.inv_freq[i];
    }
  }
  return true;
}

}  // namespace

cudaError_t matvec(const LaunchContext& ctx, const float* x, const MatvecTarget* targets,
                   int n_targets, const MatvecFusion& fusion) {
  if (n_targets < 1 || n_targets > kMaxTargets) return cudaErrorInvalidValue;
  Batch batch{};
  batch.x = x;
  batch.k = targets[0].w.cols;
  batch.n_targets = n_targets;
  for (int t = 0; t < n_targets; ++t) {
    if (!format_matches(targets[t].w, targets[0].w)) return cudaErrorInvalidValue;
    batch.w[t] = targets[t].w;
    batch.bias[t] = targets[t].bias;
    batch.y[t] = targets[t].y;
  }
  if (!apply_fusion(fusion, batch)) return cudaErrorInvalidValue;
  return launch_any(ctx, batch);
}

cudaError_t matvec_swiglu(const LaunchContext& ctx, const float* x, const DeviceMatrix& gate,
                          const DeviceMatrix& up, float* out, const MatvecFusion& fusion) {
  if (!format_matches(gate, up) || gate.rows != up.rows) return cudaErrorInvalidValue;
  Batch batch{};
  batch.x = x;
  batch.k = gate.cols;
  batch.n_targets = 1;
  batch.w[0] = gate;
  batch.w[1] = up;
  batch.y[0] = out;
  batch.swiglu = true;
  if (!apply_fusion(fusion, batch)) return cudaErrorInvalidValue;
  return launch_any(ctx, batch);
}

bool matvec_fuses_norm(WeightFormat format, int64_t k) {
  return is_quantized(format) && k % 4 == 0;
}

bool matvec_fuses_rope(const DeviceMatrix& q, const DeviceMatrix& k, const DeviceMatrix& v,
                       int64_t head_dim, const RopeParams& p) {
  // Groups of 2 or 4 rows never straddle a head: head_dim a multiple of 4; NeoX groups hold
  // pairs (i, i + half), so half must be even too, and every dim rotates.
  const bool shapes = head_dim >= 4 && head_dim % 4 == 0 && q.rows % head_dim == 0 &&
                      k.rows % head_dim == 0 && v.rows == k.rows && q.cols == k.cols &&
                      v.cols == k.cols;
  const bool pairs = p.rotary_dim >= 2 && p.rotary_dim % 2 == 0 && p.rotary_dim <= head_dim &&
                     p.rotary_dim / 2 <= kMaxRopePairs &&
                     (p.adjacent_pairs || p.rotary_dim == head_dim);
  return shapes && pairs;
}

// The short kernel's conditions, on a batch of the shapes a launch would have.
bool matvec_takes_quantized(const LaunchContext& ctx, const DeviceMatrix& w, bool swiglu,
                            bool quantized_x, bool quantized_out) {
  Batch batch{};
  batch.k = w.cols;
  batch.n_targets = 1;
  batch.w[0] = w;
  batch.w[1] = w;
  batch.swiglu = swiglu;
  batch.x_passes = std::max(1, ctx.tuning.matvec_x_passes);
  static int8_t any = 0;  // only compared with null
  if (quantized_x) batch.quantized_x = &any;
  if (quantized_out) batch.quantized_y = &any;
  return short_matvec_takes(ctx, batch);
}

}  // namespace hearth::cuda
