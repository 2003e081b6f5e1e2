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
#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

#include <algorithm>
#include <type_traits>

namespace hearth::cuda {
namespace {

constexpr int kWarps = 8;  // per block of the float kernel, and the quantized one by default
constexpr int kThreads = kWarps * 32;
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
};

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

template <WeightFormat F>
__device__ __forceinline__ void load_block(const DeviceMatrix& w, int64_t b, BlockBits<F>& out) {
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
// at hand).
template <int R>
__device__ __forceinline__ void write_rows(const Batch& batch, const GroupRows& gr,
                                           const float* acc, const float* up, float scale, int lane,
                                           const double2* rope_table) {
  float v[R], u[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    v[r] = warp_sum(acc[r]) * scale;
    u[r] = batch.swiglu ? warp_sum(up[r]) * scale : 0.0f;
  }
  const int target = gr.target;
  const int64_t rows = batch.w[target].rows;
  if (batch.swiglu) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int64_t row = gr.row(r);
      if (lane == r && row < rows) batch.y[0][row] = silu(v[r]) * u[r];
    }
    return;
  }
  const float* bias = batch.bias[target];
  if (bias != nullptr) {
#pragma unroll
    for (int r = 0; r < R; ++r) v[r] += bias[min(gr.row(r), rows - 1)];
  }
  const bool rope = batch.rope_position != nullptr;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int64_t row = gr.row(r);
    if (lane != r || row >= rows) continue;
    float out = v[r];
    if constexpr (R >= 2) {
      if (rope && target < 2) out = rotate_row(batch, row, v[r], v[r ^ 1], r & 1, rope_table);
    }
    batch.y[target][row] = out;
    if (batch.residual_out != nullptr) batch.residual_out[row] = batch.residual_in[row] + out;
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
__device__ __forceinline__ float norm_scale(const Batch& batch, float ss_part, float* scratch) {
  const float ss = block_sum(ss_part, scratch);
  const float scale = rsqrtf(ss / static_cast<float>(batch.k) + batch.norm_eps);
  if (blockIdx.x == 0) {
    const float4* x4 = reinterpret_cast<const float4*>(batch.x);
    const float4* w4 = reinterpret_cast<const float4*>(batch.norm_weight);
    float4* y4 = reinterpret_cast<float4*>(batch.norm_out);
    for (int64_t i = threadIdx.x; i < batch.k / 4; i += blockDim.x) {
      const float4 v = x4[i], w = w4[i];
      y4[i] =
          make_float4(v.x * scale * w.x, v.y * scale * w.y, v.z * scale * w.z, v.w * scale * w.w);
    }
  }
  return scale;
}

// Resident blocks per multiprocessor the register allocation must allow: q4_0 fits 3 (24 warps)
// in 80 registers without spilling except with 4 gate/up row pairs; the fused norm's prologue
// would otherwise push it to 2. Blocks of 24 warps (one per multiprocessor, the same 80
// registers) quantize x once per multiprocessor instead of three times.
template <WeightFormat F, int R, bool kSwiglu, int W>
constexpr int kMinBlocks = W == 24                                            ? 1
                           : F == WeightFormat::kQ4_0 && !(R == 4 && kSwiglu) ? 3
                                                                              : 1;

// Shared memory: xq [k], xs [k / 32] (the float kernel: x [k] f32) and, with the rope, its
// table (16-byte aligned).
__host__ __device__ constexpr size_t rope_table_offset(int64_t k) {
  return (static_cast<size_t>(k + (k / 32) * 8) + 15) / 16 * 16;
}
__host__ __device__ constexpr size_t float_rope_table_offset(int64_t k) {
  return (static_cast<size_t>(k) * 4 + 15) / 16 * 16;
}

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
      for (int u = 0; u < U; ++u) {
        const int64_t b = b0 + 32 * u;
        const bool valid = b < nb;  // past the end: the repeated last block, weighted 0
        const int64_t bx = valid ? b : nb - 1;
        const int4 xa = *reinterpret_cast<const int4*>(xq + bx * 32);
        const int4 xb = *reinterpret_cast<const int4*>(xq + bx * 32 + 16);
        const float2 s = xs[bx];
#pragma unroll
        for (int m = 0; m < kMats; ++m) {
#pragma unroll
          for (int r = 0; r < R; ++r) {
            const float dot = dot_block<F>(cur[u][m][r], xa, xb, s);
            acc[m][r] += valid ? dot : 0.0f;
          }
        }
      }
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

}  // namespace hearth::cuda
