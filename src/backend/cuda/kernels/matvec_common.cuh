// Device code the decode matvec kernels share (matvec.cu: blocks that stay resident and walk
// row groups; matvec_short.cu: short blocks that issue all their weight loads at once): the
// launch's arguments, weight blocks and their dot products with int8 x, row groups, the rope
// table, the epilogue that writes rows, and x's quantization. Included by those .cu files only.
#pragma once

#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

namespace hearth::cuda::matvec_detail {

constexpr int kMaxTargets = 3;

struct Batch {
  const float* x;
  int64_t k;
  int n_targets;
  DeviceMatrix w[kMaxTargets];
  const float* bias[kMaxTargets];
  float* y[kMaxTargets];
  int64_t group_end[kMaxTargets];  // cumulative row groups per target
  // swiglu: w[0] = gate, w[1] = up, y[0] = out
  bool swiglu;
  // rms_norm in front (norm_weight not null, quantized weights only): x is the raw row, the
  // kernel quantizes x * norm_weight and scales every dot product by rsqrt(mean(x^2) + eps).
  // That is the product with the normed row: the per-32 int8 scale absorbs the scalar. Block 0
  // also writes the normed row to norm_out, so the norm's output exists as if it had run alone.
  const float* norm_weight;
  float* norm_out;
  float norm_eps;
  // Residual add behind (one target, no swiglu): residual_out[row] = residual_in[row] + y[row].
  const float* residual_in;
  float* residual_out;
  // Issue the first two rounds of weight loads before waiting for the previous kernel (else one).
  bool prefetch_two;
  int x_passes;  // times x is quantized (1; more only to measure what the prologue costs)
  // Rope behind (rope_position not null; three targets q, k, v, never with swiglu or a residual):
  // groups of targets 0 and 1 hold whole rotation pairs (rows i, i + 1 for adjacent pairs, i and
  // i + rope_half for NeoX), so the lanes that write a pair have both products; the rotated q
  // and k and the v row are written to y, k and v also to the cache row of the position.
  const int32_t* rope_position;
  int rope_head_dim;
  int rope_dim;   // rotary dims per head (adjacent pairs: the rest pass through)
  int rope_half;  // NeoX: the partner's offset, rope_dim / 2 (= head_dim / 2); 0: adjacent pairs
  bool kv_f16;
  void* keys;
  void* values;
  double inv_freq[kMaxRopePairs];
  // x already quantized (quantized_x not null, the short kernel only): its int8 values and
  // scales as quantize_x writes them, from the matvec that produced x; `x` is then unused. With
  // the norm in front, those are of x * norm_weight and quantized_x_sum_squares holds sum(x^2)
  // per 32, for the norm's scale (x is then read by block 0 only, for norm_out).
  const int8_t* quantized_x;
  const float2* quantized_x_scales;
  const float* quantized_x_sum_squares;
  // The output quantized too (the short kernel only, one target): the row written (the
  // swiglu's, residual_out's when the residual is fused, else y's) as quantize_x would quantize
  // it for the matvec that reads it next; times quantized_y_norm_weight, with the raw row's
  // sums of squares per 32 in quantized_y_sum_squares, when that matvec folds a norm.
  int8_t* quantized_y;
  float2* quantized_y_scales;
  float* quantized_y_sum_squares;
  const float* quantized_y_norm_weight;
};

// One group of 32 values (a value a lane) quantized as quantize_x quantizes them: lane l writes
// q[l], lane 0 the group's (d, d * sum q).
__device__ __forceinline__ void quantize_group(float v, int lane, int8_t* q, float2* scale) {
  const float amax = warp_max(fabsf(v));
  const float d = amax / 127.0f;
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  const int qi = __float2int_rn(v * inv);
  int sum = qi;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  q[lane] = static_cast<int8_t>(qi);
  if (lane == 0) *scale = make_float2(d, d * static_cast<float>(sum));
}

__device__ __forceinline__ float silu(float g) {
  return g / (1.0f + __expf(-g));
}

// The raw bits of one weight block: quants (one int4, two for q8_0), scale and min.
template <WeightFormat F>
struct BlockBits {
  int4 q[F == WeightFormat::kQ8_0 ? 2 : 1];
  uint16_t d;
  uint16_t m;
};

// I: the block index's type; the short kernel's int (a matrix under 2^31 blocks) keeps its
// address arithmetic, all of it before the loads issue, in 32 bits.
template <WeightFormat F, class I>
__device__ __forceinline__ void load_block(const DeviceMatrix& w, I b, BlockBits<F>& out) {
  const int4* q = static_cast<const int4*>(w.quants) + (F == WeightFormat::kQ8_0 ? 2 * b : b);
  out.q[0] = load_stream(q);
  if constexpr (F == WeightFormat::kQ8_0) out.q[1] = load_stream(q + 1);
  out.d = load_stream(w.scales + b);
  if constexpr (F == WeightFormat::kQ4_1) out.m = load_stream(w.mins + b);
}

template <WeightFormat F>
__device__ __forceinline__ float dot_block(const BlockBits<F>& w, const int4& xa, const int4& xb,
                                           const float2& xs) {
  int sumi = 0;
  const float d = half_bits_to_float(w.d);
  if constexpr (F == WeightFormat::kQ8_0) {
    sumi = __dp4a(w.q[0].x, xa.x, sumi);
    sumi = __dp4a(w.q[0].y, xa.y, sumi);
    sumi = __dp4a(w.q[0].z, xa.z, sumi);
    sumi = __dp4a(w.q[0].w, xa.w, sumi);
    sumi = __dp4a(w.q[1].x, xb.x, sumi);
    sumi = __dp4a(w.q[1].y, xb.y, sumi);
    sumi = __dp4a(w.q[1].z, xb.z, sumi);
    sumi = __dp4a(w.q[1].w, xb.w, sumi);
    return d * xs.x * static_cast<float>(sumi);
  } else {
    const int4 q = w.q[0];
    constexpr int kLow = 0x0F0F0F0F;
    sumi = __dp4a(q.x & kLow, xa.x, sumi);
    sumi = __dp4a(q.y & kLow, xa.y, sumi);
    sumi = __dp4a(q.z & kLow, xa.z, sumi);
    sumi = __dp4a(q.w & kLow, xa.w, sumi);
    sumi = __dp4a((q.x >> 4) & kLow, xb.x, sumi);
    sumi = __dp4a((q.y >> 4) & kLow, xb.y, sumi);
    sumi = __dp4a((q.z >> 4) & kLow, xb.z, sumi);
    sumi = __dp4a((q.w >> 4) & kLow, xb.w, sumi);
    if constexpr (F == WeightFormat::kQ4_1) {
      return d * xs.x * static_cast<float>(sumi) + half_bits_to_float(w.m) * xs.y;
    } else {
      return d * (xs.x * static_cast<float>(sumi) - 8.0f * xs.y);
    }
  }
}

// acc[m][r] += w[m][r] . x over weight block b (0 past the end, where the caller loaded the
// last block again so that every lane stays on one path).
template <WeightFormat F, int kMats, int R, class I>
__device__ __forceinline__ void accumulate_block(const BlockBits<F> (&w)[kMats][R],
                                                 const int8_t* xq, const float2* xs, I b, I nb,
                                                 float (&acc)[kMats][R]) {
  const bool valid = b < nb;
  const I bx = valid ? b : nb - 1;
  const int4 xa = *reinterpret_cast<const int4*>(xq + bx * 32);
  const int4 xb = *reinterpret_cast<const int4*>(xq + bx * 32 + 16);
  const float2 s = xs[bx];
#pragma unroll
  for (int m = 0; m < kMats; ++m) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const float dot = dot_block<F>(w[m][r], xa, xb, s);
      acc[m][r] += valid ? dot : 0.0f;
    }
  }
}

// The rows of a row group: R consecutive rows from base (partner 1), or for rotated NeoX
// groups R/2 pairs (base + i, base + i + partner). Rows fit an int (2^31 rows of 32 columns
// are 68 GB of q4_0).
struct GroupRows {
  int target;
  int base;
  int partner;
  __device__ __forceinline__ int64_t row(int r) const {
    return partner == 1 ? base + r : base + (r >> 1) + (r & 1) * partner;
  }
};

__device__ __forceinline__ GroupRows locate_group(const Batch& batch, int64_t g,
                                                  int rows_per_group) {
  int target = 0;
  int64_t first = 0;
  while (target + 1 < batch.n_targets && g >= batch.group_end[target]) {
    first = batch.group_end[target];
    ++target;
  }
  const int64_t r0 = (g - first) * rows_per_group;
  if (batch.rope_position != nullptr && batch.rope_half > 0 && target < 2) {
    const int64_t hd = batch.rope_head_dim;
    return GroupRows{target, static_cast<int>(r0 / hd * hd + (r0 % hd) / 2), batch.rope_half};
  }
  return GroupRows{target, static_cast<int>(r0), 1};
}

// The rope table: (cos, sin) of position * inv_freq[i] in double for every pair i, in shared
// memory. Computed before the kernel waits for its predecessor: the step's positions are copied
// before the step's first kernel starts, and no kernel writes them.
__device__ __forceinline__ void fill_rope_table(const Batch& batch, double2* table) {
  if (batch.rope_position == nullptr) return;
  const double pos = static_cast<double>(*batch.rope_position);
  for (int i = threadIdx.x; i < batch.rope_dim / 2; i += blockDim.x) {
    double s, c;
    sincos(pos * batch.inv_freq[i], &s, &c);
    table[i] = make_double2(c, s);
  }
}

// Row `row` of q or k rotated: `self` its product, `partner` its pair partner's; `second`: the
// row is the pair's second (i + 1 or i + half).
__device__ __forceinline__ float rotate_row(const Batch& batch, int64_t row, float self,
                                            float partner, bool second, const double2* table) {
  const int d = static_cast<int>(row % batch.rope_head_dim);
  int i;
  if (batch.rope_half > 0) {
    i = d < batch.rope_half ? d : d - batch.rope_half;
  } else {
    if (d >= batch.rope_dim) return self;
    i = d / 2;
  }
  const double2 cs = table[i];
  return second ? rope_second(partner, self, cs.x, cs.y) : rope_first(self, partner, cs.x, cs.y);
}

// acc[r] (and up[r] for swiglu) summed over the warp and times `scale` (the fused norm's, else
// 1: exact); every lane has every row's sum, lane r writes row r (with its rope partner's sum
// at hand). Returns the value lane r wrote (the swiglu's, residual_out's when the residual is
// fused, else y's; 0 on the other lanes and rows), for a quantized output.
// residual_ready: lane r has already loaded residual_in of its row into `residual`.
template <int R>
__device__ __forceinline__ float write_rows(const Batch& batch, const GroupRows& gr,
                                            const float* acc, const float* up, float scale,
                                            int lane, const double2* rope_table,
                                            bool residual_ready = false, float residual = 0.0f) {
  float v[R], u[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    v[r] = warp_sum(acc[r]) * scale;
    u[r] = batch.swiglu ? warp_sum(up[r]) * scale : 0.0f;
  }
  const int target = gr.target;
  const int64_t rows = batch.w[target].rows;
  if (batch.swiglu) {
    float written = 0.0f;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int64_t row = gr.row(r);
      if (lane == r && row < rows) {
        written = silu(v[r]) * u[r];
        batch.y[0][row] = written;
      }
    }
    return written;
  }
  const float* bias = batch.bias[target];
  if (bias != nullptr) {
#pragma unroll
    for (int r = 0; r < R; ++r) v[r] += bias[min(gr.row(r), rows - 1)];
  }
  const bool rope = batch.rope_position != nullptr;
  float written = 0.0f;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int64_t row = gr.row(r);
    if (lane != r || row >= rows) continue;
    float out = v[r];
    written = out;
    if constexpr (R >= 2) {
      if (rope && target < 2) out = rotate_row(batch, row, v[r], v[r ^ 1], r & 1, rope_table);
    }
    batch.y[target][row] = out;
    if (batch.residual_out != nullptr) {
      written = (residual_ready ? residual : batch.residual_in[row]) + out;
      batch.residual_out[row] = written;
    }
    if (rope && target >= 1) {  // k or v: the cache row too
      const int64_t at = int64_t{*batch.rope_position} * rows + row;
      void* cache = target == 1 ? batch.keys : batch.values;
      if (batch.kv_f16) {
        static_cast<__half*>(cache)[at] = __float2half_rn(out);
      } else {
        static_cast<float*>(cache)[at] = out;
      }
    }
  }
  return written;
}

// x [k] (times nw, when kNorm) -> int8 xq [k] and per 32 values (d, d * sum q) in xs. Each
// thread converts 4 values per 16-byte load, V loads in flight; the 8 lanes of a block of 32
// reduce its amax and sum with shuffles. Loops are uniform per warp (every lane reaches every
// shuffle). Returns this thread's part of sum(x^2) when kNorm (the fused norm's), else 0.
template <bool kNorm, int V, int kBlockThreads>
__device__ __forceinline__ float quantize_x(const float* x, const float* nw, int64_t k, int8_t* xq,
                                            float2* xs) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t n4 = k / 4;
  const float4* x4 = reinterpret_cast<const float4*>(x);
  const float4* w4 = reinterpret_cast<const float4*>(nw);
  const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  float ss = 0.0f;
  for (int64_t w0 = int64_t{warp} * 32; w0 < n4; w0 += int64_t{kBlockThreads} * V) {
    float4 v[V];
    float4 s[kNorm ? V : 1];
#pragma unroll
    for (int u = 0; u < V; ++u) {
      const int64_t i = w0 + lane + u * kBlockThreads;
      v[u] = i < n4 ? x4[i] : zero;
      if constexpr (kNorm) s[u] = i < n4 ? w4[i] : zero;
    }
    if constexpr (kNorm) {
#pragma unroll
      for (int u = 0; u < V; ++u) {
        ss += v[u].x * v[u].x + v[u].y * v[u].y + v[u].z * v[u].z + v[u].w * v[u].w;
        v[u] = make_float4(v[u].x * s[u].x, v[u].y * s[u].y, v[u].z * s[u].z, v[u].w * s[u].w);
      }
    }
#pragma unroll
    for (int u = 0; u < V; ++u) {
      const int64_t i = w0 + lane + u * kBlockThreads;
      float amax = fmaxf(fmaxf(fabsf(v[u].x), fabsf(v[u].y)), fmaxf(fabsf(v[u].z), fabsf(v[u].w)));
#pragma unroll
      for (int o = 4; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
      const float d = amax / 127.0f;
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      const int q0 = __float2int_rn(v[u].x * inv), q1 = __float2int_rn(v[u].y * inv);
      const int q2 = __float2int_rn(v[u].z * inv), q3 = __float2int_rn(v[u].w * inv);
      int sum = q0 + q1 + q2 + q3;
#pragma unroll
      for (int o = 4; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
      if (i < n4) {
        char4 packed;
        packed.x = static_cast<signed char>(q0);
        packed.y = static_cast<signed char>(q1);
        packed.z = static_cast<signed char>(q2);
        packed.w = static_cast<signed char>(q3);
        reinterpret_cast<char4*>(xq)[i] = packed;
        if ((lane & 7) == 0) xs[i / 8] = make_float2(d, d * static_cast<float>(sum));
      }
    }
  }
  return ss;
}

// The fused norm's scale rsqrt(mean(x^2) + eps) from every thread's part of sum(x^2) (a block
// reduction: all threads call it); block 0 writes the normed row x * scale * weight, the
// rms_norm kernel's expression per element (its sum of squares may be added in another order,
// so the row can differ from the unfused one by a float ulp or two).
__device__ __forceinline__ void write_normed_row(const Batch& batch, float scale) {
  if (blockIdx.x != 0) return;
  const float4* x4 = reinterpret_cast<const float4*>(batch.x);
  const float4* w4 = reinterpret_cast<const float4*>(batch.norm_weight);
  float4* y4 = reinterpret_cast<float4*>(batch.norm_out);
  for (int64_t i = threadIdx.x; i < batch.k / 4; i += blockDim.x) {
    const float4 v = x4[i], w = w4[i];
    y4[i] = make_float4(v.x * scale * w.x, v.y * scale * w.y, v.z * scale * w.z, v.w * scale * w.w);
  }
}
__device__ __forceinline__ float norm_scale(const Batch& batch, float ss_part, float* scratch) {
  const float ss = block_sum(ss_part, scratch);
  const float scale = rsqrtf(ss / static_cast<float>(batch.k) + batch.norm_eps);
  write_normed_row(batch, scale);
  return scale;
}

// Shared memory: xq [k], xs [k / 32] (the float kernel: x [k] f32) and, with the rope, its
// table (16-byte aligned).
__host__ __device__ constexpr size_t rope_table_offset(int64_t k) {
  return (static_cast<size_t>(k + (k / 32) * 8) + 15) / 16 * 16;
}
__host__ __device__ constexpr size_t float_rope_table_offset(int64_t k) {
  return (static_cast<size_t>(k) * 4 + 15) / 16 * 16;
}

// The short-block kernel (matvec_short.cu): whether it takes `batch`, and its launch.
bool short_matvec_takes(const LaunchContext& ctx, const Batch& batch);
cudaError_t launch_short_matvec(const LaunchContext& ctx, Batch& batch);

}  // namespace hearth::cuda::matvec_detail
