// Causal attention for many query tokens (prefill), flash-attention style on tensor cores.
// Block = 16 * W query rows of one head (W warps x 16 rows; W = 8 by default, 4 on request:
// more rows share each converted K/V tile, which is what the kernel's L2 traffic is made of); it
// walks the KV cache in tiles of 64
// keys up to the largest position among its rows. Each tile goes to shared memory as fp16 (an
// f16 cache as it is, an f32 one rounded); S = Q K^T and O += P V run as mma.m16n8k16 (fp16 in, f32
// accumulate) with an online softmax in registers (base 2: q is pre-scaled by log2(e)), so no [T,
// keys] score matrix ever exists. Rows mask keys past their own position.
#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

#include <cmath>

namespace hearth::cuda {
namespace {

constexpr int kKeys = 64;  // keys per tile
constexpr int kPad = 8;    // halves of padding per shared row (conflict-free ldmatrix)

__device__ __forceinline__ uint32_t pack_half2(float lo, float hi) {
  const __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&h);
}

__device__ __forceinline__ void mma_f16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const __half* p) {
  const auto addr = static_cast<uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const __half* p) {
  const auto addr = static_cast<uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// Four consecutive cache elements as fp16 (f32 rounded, f16 as stored).
__device__ __forceinline__ uint2 four_halves(const float* p) {
  const float4 v = __ldg(reinterpret_cast<const float4*>(p));
  return make_uint2(pack_half2(v.x, v.y), pack_half2(v.z, v.w));
}
__device__ __forceinline__ uint2 four_halves(const __half* p) {
  return __ldg(reinterpret_cast<const uint2*>(p));
}

template <typename KV, int HD, int kWarps>
__global__ void __launch_bounds__(kWarps * 32) prefill_attention_kernel(AttentionArgs a) {
  constexpr int kThreads = kWarps * 32;
  constexpr int kRows = 16 * kWarps;  // query rows per block
  constexpr int kStride = HD + kPad;
  __shared__ __align__(16) __half ks[kKeys][kStride];  // [key][dim]
  __shared__ __align__(16) __half vs[kKeys][kStride];  // [key][dim]
  __shared__ int warp_max_pos[kWarps];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, c = lane & 3;
  const int h = blockIdx.y;
  const int group = static_cast<int>(a.n_heads / a.n_kv_heads);
  const int kvh = h / group;
  // Heaviest tiles (latest positions) first.
  const int64_t t0 = int64_t{gridDim.x - 1 - blockIdx.x} * kRows;
  const int64_t ta = t0 + warp * 16 + g, tb = ta + 8;
  allow_next_kernel();
  wait_for_previous_kernel();

  const int pos_a = ta < a.n_tokens ? a.positions[ta] : -1;
  const int pos_b = tb < a.n_tokens ? a.positions[tb] : -1;
  int mp = max(pos_a, pos_b);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) mp = max(mp, __shfl_xor_sync(0xffffffffu, mp, o));
  if (lane == 0) warp_max_pos[warp] = mp;

  // Q fragments (A operand, 16 rows x 16 dims per chunk), pre-scaled into the base-2 domain.
  const float qscale = a.scale * 1.4426950408889634f;
  uint32_t qf[HD / 16][4];
  {
    const float* qa = a.q + (ta * a.n_heads + h) * HD;
    const float* qb = a.q + (tb * a.n_heads + h) * HD;
    const bool va = ta < a.n_tokens, vb = tb < a.n_tokens;
#pragma unroll
    for (int kc = 0; kc < HD / 16; ++kc) {
      const int d0 = kc * 16 + 2 * c, d1 = d0 + 8;
      const float2 a0 = va ? *reinterpret_cast<const float2*>(qa + d0) : make_float2(0, 0);
      const float2 b0 = vb ? *reinterpret_cast<const float2*>(qb + d0) : make_float2(0, 0);
      const float2 a1 = va ? *reinterpret_cast<const float2*>(qa + d1) : make_float2(0, 0);
      const float2 b1 = vb ? *reinterpret_cast<const float2*>(qb + d1) : make_float2(0, 0);
      qf[kc][0] = pack_half2(a0.x * qscale, a0.y * qscale);
      qf[kc][1] = pack_half2(b0.x * qscale, b0.y * qscale);
      qf[kc][2] = pack_half2(a1.x * qscale, a1.y * qscale);
      qf[kc][3] = pack_half2(b1.x * qscale, b1.y * qscale);
    }
  }
  __syncthreads();
  int max_pos = warp_max_pos[0];
#pragma unroll
  for (int w = 1; w < kWarps; ++w) max_pos = max(max_pos, warp_max_pos[w]);
  const int64_t n_keys = int64_t{max_pos} + 1;

  float o[HD / 8][4];
#pragma unroll
  for (int i = 0; i < HD / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float m_a = -INFINITY, m_b = -INFINITY, l_a = 0.0f, l_b = 0.0f;

  const int64_t row = a.n_kv_heads * HD;
  const KV* kbase = static_cast<const KV*>(a.keys) + int64_t{kvh} * HD;
  const KV* vbase = static_cast<const KV*>(a.values) + int64_t{kvh} * HD;
  for (int64_t k0 = 0; k0 < n_keys; k0 += kKeys) {
    __syncthreads();  // the previous tile is consumed
    for (int idx = threadIdx.x; idx < kKeys * HD / 4; idx += kThreads) {
      const int j = idx / (HD / 4), d = (idx % (HD / 4)) * 4;
      uint2 kh = make_uint2(0, 0), vh = kh;
      if (k0 + j < n_keys) {
        kh = four_halves(kbase + (k0 + j) * row + d);
        vh = four_halves(vbase + (k0 + j) * row + d);
      }
      *reinterpret_cast<uint2*>(&ks[j][d]) = kh;
      *reinterpret_cast<uint2*>(&vs[j][d]) = vh;
    }
    __syncthreads();

    // S = Q K^T for this warp's 16 rows and the tile's 64 keys (8 tiles of 8 keys).
    float s[kKeys / 8][4];
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt) {
      s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
      for (int kc = 0; kc < HD / 16; kc += 2) {
        uint32_t b[4];
        ldmatrix_x4(b, &ks[nt * 8 + (lane & 7)][kc * 16 + (lane >> 3) * 8]);
        mma_f16(s[nt], qf[kc], b[0], b[1]);
        mma_f16(s[nt], qf[kc + 1], b[2], b[3]);
      }
    }
    // Mask keys past each row's position; online softmax per row (a quad shares a row).
    float mx_a = -INFINITY, mx_b = -INFINITY;
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt) {
      const int64_t key = k0 + nt * 8 + 2 * c;
      if (key > pos_a) s[nt][0] = -INFINITY;
      if (key + 1 > pos_a) s[nt][1] = -INFINITY;
      if (key > pos_b) s[nt][2] = -INFINITY;
      if (key + 1 > pos_b) s[nt][3] = -INFINITY;
      mx_a = fmaxf(mx_a, fmaxf(s[nt][0], s[nt][1]));
      mx_b = fmaxf(mx_b, fmaxf(s[nt][2], s[nt][3]));
    }
#pragma unroll
    for (int off = 1; off <= 2; off <<= 1) {
      mx_a = fmaxf(mx_a, __shfl_xor_sync(0xffffffffu, mx_a, off));
      mx_b = fmaxf(mx_b, __shfl_xor_sync(0xffffffffu, mx_b, off));
    }
    const float new_a = fmaxf(m_a, mx_a), new_b = fmaxf(m_b, mx_b);
    // A row with no visible key yet keeps everything at zero.
    const float base_a = new_a == -INFINITY ? 0.0f : new_a;
    const float base_b = new_b == -INFINITY ? 0.0f : new_b;
    const float corr_a = exp2f(m_a - base_a), corr_b = exp2f(m_b - base_b);
    m_a = new_a;
    m_b = new_b;
    l_a *= corr_a;
    l_b *= corr_b;
#pragma unroll
    for (int i = 0; i < HD / 8; ++i) {
      o[i][0] *= corr_a;
      o[i][1] *= corr_a;
      o[i][2] *= corr_b;
      o[i][3] *= corr_b;
    }
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt) {
      s[nt][0] = exp2f(s[nt][0] - base_a);
      s[nt][1] = exp2f(s[nt][1] - base_a);
      s[nt][2] = exp2f(s[nt][2] - base_b);
      s[nt][3] = exp2f(s[nt][3] - base_b);
      l_a += s[nt][0] + s[nt][1];
      l_b += s[nt][2] + s[nt][3];
    }
    // O += P V: P (this warp's 16 x 64) as A fragments straight from the S registers.
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      uint32_t p[4];
      p[0] = pack_half2(s[2 * kk][0], s[2 * kk][1]);
      p[1] = pack_half2(s[2 * kk][2], s[2 * kk][3]);
      p[2] = pack_half2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      p[3] = pack_half2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
      for (int nt = 0; nt < HD / 8; nt += 2) {
        uint32_t b[4];
        const int mi = lane >> 3;
        ldmatrix_x4_trans(b, &vs[kk * 16 + (mi & 1) * 8 + (lane & 7)][nt * 8 + (mi >> 1) * 8]);
        mma_f16(o[nt], p, b[0], b[1]);
        mma_f16(o[nt + 1], p, b[2], b[3]);
      }
    }
  }

#pragma unroll
  for (int off = 1; off <= 2; off <<= 1) {
    l_a += __shfl_xor_sync(0xffffffffu, l_a, off);
    l_b += __shfl_xor_sync(0xffffffffu, l_b, off);
  }
  const float inv_a = l_a > 0.0f ? 1.0f / l_a : 0.0f;
  const float inv_b = l_b > 0.0f ? 1.0f / l_b : 0.0f;
  if (ta < a.n_tokens) {
    float* out = a.out + (ta * a.n_heads + h) * HD;
#pragma unroll
    for (int i = 0; i < HD / 8; ++i) {
      *reinterpret_cast<float2*>(out + i * 8 + 2 * c) =
          make_float2(o[i][0] * inv_a, o[i][1] * inv_a);
    }
  }
  if (tb < a.n_tokens) {
    float* out = a.out + (tb * a.n_heads + h) * HD;
#pragma unroll
    for (int i = 0; i < HD / 8; ++i) {
      *reinterpret_cast<float2*>(out + i * 8 + 2 * c) =
          make_float2(o[i][2] * inv_b, o[i][3] * inv_b);
    }
  }
}

}  // namespace

bool prefill_attention_supports(int64_t head_dim) {
  return head_dim == 64 || head_dim == 128;
}

namespace {

template <typename KV, int W>
cudaError_t launch_prefill(const LaunchContext& ctx, const AttentionArgs& a) {
  constexpr int kRows = 16 * W;
  const dim3 grid(static_cast<unsigned>((a.n_tokens + kRows - 1) / kRows),
                  static_cast<unsigned>(a.n_heads));
  if (a.head_dim == 64) {
    return launch_kernel(ctx, prefill_attention_kernel<KV, 64, W>, grid, dim3(W * 32), 0, a);
  }
  if (a.head_dim == 128) {
    return launch_kernel(ctx, prefill_attention_kernel<KV, 128, W>, grid, dim3(W * 32), 0, a);
  }
  return cudaErrorInvalidValue;
}

template <typename KV>
cudaError_t launch_prefill_kv(const LaunchContext& ctx, const AttentionArgs& a) {
  return ctx.tuning.prefill_attention_warps == 4 ? launch_prefill<KV, 4>(ctx, a)
                                                 : launch_prefill<KV, 8>(ctx, a);
}

}  // namespace

cudaError_t attention_prefill(const LaunchContext& ctx, const AttentionArgs& a) {
  if (a.n_tokens == 0) return cudaSuccess;
  return a.kv == KvFormat::kF16 ? launch_prefill_kv<__half>(ctx, a)
                                : launch_prefill_kv<float>(ctx, a);
}

}  // namespace hearth::cuda
