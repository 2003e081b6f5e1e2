// Attention for a few query tokens over a long KV cache (decode): split-K over the keys.
// Grid (kv head, split, token); a block's 4 warps take keys of its split in turns of U keys,
// each lane holding head_dim/32 contiguous dims of the query heads that share the kv head
// (grouped-query attention reads each key once for the whole group). Online softmax in f32;
// each split leaves (max, sum, weighted values) in scratch and the last block of a (token, kv
// head) to finish merges the splits (a counter per pair, reset for the next launch). The number
// of keys per split is read from `positions` when the kernel runs, so the launch is the same at
// every position (CUDA graphs).
#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

#include <algorithm>
#include <cmath>

namespace hearth::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kKeysInFlight = 4;  // U: keys each warp loads before using them
constexpr int kMaxSplits = 64;

template <int DPL>
__device__ __forceinline__ void load_dims(const float* p, float out[DPL]) {
  if constexpr (DPL % 4 == 0) {
#pragma unroll
    for (int i = 0; i < DPL; i += 4) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(p + i));
      out[i] = v.x;
      out[i + 1] = v.y;
      out[i + 2] = v.z;
      out[i + 3] = v.w;
    }
  } else if constexpr (DPL == 2) {
    const float2 v = __ldg(reinterpret_cast<const float2*>(p));
    out[0] = v.x;
    out[1] = v.y;
  } else {
#pragma unroll
    for (int i = 0; i < DPL; ++i) out[i] = __ldg(p + i);
  }
}

template <int DPL, int GMAX>
__global__ void __launch_bounds__(kThreads) decode_attention_kernel(AttentionArgs a, int splits,
                                                                    float* scratch, int* counters) {
  constexpr int kHeadDim = DPL * 32;
  constexpr int U = kKeysInFlight;
  __shared__ float part_ml[kWarps][GMAX][2];
  __shared__ float part_o[kWarps][GMAX][kHeadDim];
  __shared__ int is_last;
  const int kvh = blockIdx.x, split = blockIdx.y;
  const int64_t t = blockIdx.z;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int group = static_cast<int>(a.n_heads / a.n_kv_heads);
  allow_next_kernel();
  wait_for_previous_kernel();

  const int64_t n_keys = int64_t{a.positions[t]} + 1;
  const int64_t begin = n_keys * split / splits, end = n_keys * (split + 1) / splits;
  const int64_t head0 = t * a.n_heads + int64_t{kvh} * group;  // first query head of the group

  float q[GMAX][DPL], o[GMAX][DPL], m[GMAX], l[GMAX];
#pragma unroll
  for (int g = 0; g < GMAX; ++g) {
    if (g < group) {
      load_dims<DPL>(a.q + (head0 + g) * kHeadDim + lane * DPL, q[g]);
    } else {
#pragma unroll
      for (int d = 0; d < DPL; ++d) q[g][d] = 0.0f;
    }
#pragma unroll
    for (int d = 0; d < DPL; ++d) {
      q[g][d] *= a.scale;
      o[g][d] = 0.0f;
    }
    m[g] = -INFINITY;
    l[g] = 0.0f;
  }

  const int64_t row = a.n_kv_heads * kHeadDim;
  const float* kbase = a.keys + int64_t{kvh} * kHeadDim + lane * DPL;
  const float* vbase = a.values + int64_t{kvh} * kHeadDim + lane * DPL;
  for (int64_t j0 = begin + warp * U; j0 < end; j0 += kWarps * U) {
    float kr[U][DPL], vr[U][DPL];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int64_t j = min(j0 + u, end - 1);
      load_dims<DPL>(kbase + j * row, kr[u]);
      load_dims<DPL>(vbase + j * row, vr[u]);
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      if (j0 + u >= end) break;
#pragma unroll
      for (int g = 0; g < GMAX; ++g) {
        if (g >= group) break;
        float s = 0.0f;
#pragma unroll
        for (int d = 0; d < DPL; ++d) s += q[g][d] * kr[u][d];
        s = warp_sum(s);
        const float m_new = fmaxf(m[g], s);
        const float c = __expf(m[g] - m_new);
        const float p = __expf(s - m_new);
        l[g] = l[g] * c + p;
#pragma unroll
        for (int d = 0; d < DPL; ++d) o[g][d] = o[g][d] * c + p * vr[u][d];
        m[g] = m_new;
      }
    }
  }

  // Merge the warps' partial softmaxes, then this split's result goes to scratch.
#pragma unroll
  for (int g = 0; g < GMAX; ++g) {
    if (lane == 0) {
      part_ml[warp][g][0] = m[g];
      part_ml[warp][g][1] = l[g];
    }
#pragma unroll
    for (int d = 0; d < DPL; ++d) part_o[warp][g][lane * DPL + d] = o[g][d];
  }
  __syncthreads();
  const int64_t stride = kHeadDim + 2;  // per (token, head, split): max, sum, values
  for (int idx = threadIdx.x; idx < group * kHeadDim; idx += kThreads) {
    const int g = idx / kHeadDim, d = idx % kHeadDim;
    float mx = -INFINITY;
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, part_ml[w][g][0]);
    float sum = 0.0f, val = 0.0f;
    if (mx > -INFINITY) {
      for (int w = 0; w < kWarps; ++w) {
        const float f = __expf(part_ml[w][g][0] - mx);
        sum += part_ml[w][g][1] * f;
        val += part_o[w][g][d] * f;
      }
    }
    float* dst = scratch + ((head0 + g) * splits + split) * stride;
    if (d == 0) {
      dst[0] = mx;
      dst[1] = sum;
    }
    dst[2 + d] = val;
  }

  // The last split of this (token, kv head) to finish merges all splits.
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    const int done = atomicAdd(&counters[t * a.n_kv_heads + kvh], 1);
    is_last = done == splits - 1;
  }
  __syncthreads();
  if (!is_last) return;
  __threadfence();
  for (int idx = threadIdx.x; idx < group * kHeadDim; idx += kThreads) {
    const int g = idx / kHeadDim, d = idx % kHeadDim;
    const float* src = scratch + (head0 + g) * splits * stride;
    float mx = -INFINITY;
    for (int s = 0; s < splits; ++s) mx = fmaxf(mx, __ldcg(src + s * stride));
    float sum = 0.0f, val = 0.0f;
    for (int s = 0; s < splits; ++s) {
      const float ms = __ldcg(src + s * stride);
      if (ms == -INFINITY) continue;
      const float f = __expf(ms - mx);
      sum += __ldcg(src + s * stride + 1) * f;
      val += __ldcg(src + s * stride + 2 + d) * f;
    }
    a.out[(head0 + g) * kHeadDim + d] = val / sum;
  }
  if (threadIdx.x == 0) counters[t * a.n_kv_heads + kvh] = 0;
}

template <int DPL>
cudaError_t launch_dpl(const LaunchContext& ctx, const AttentionArgs& a, int splits,
                       float* scratch, int* counters) {
  const dim3 grid(static_cast<unsigned>(a.n_kv_heads), static_cast<unsigned>(splits),
                  static_cast<unsigned>(a.n_tokens));
  if (a.n_heads / a.n_kv_heads <= 4) {
    return launch_kernel(ctx, decode_attention_kernel<DPL, 4>, grid, dim3(kThreads), 0, a, splits,
                         scratch, counters);
  }
  return launch_kernel(ctx, decode_attention_kernel<DPL, 8>, grid, dim3(kThreads), 0, a, splits,
                       scratch, counters);
}

}  // namespace

bool decode_attention_supports(int64_t head_dim, int64_t group) {
  return (head_dim == 32 || head_dim == 64 || head_dim == 128 || head_dim == 256) && group >= 1 &&
         group <= 8;
}

int decode_attention_splits(const LaunchContext& ctx, int64_t n_kv_heads, int64_t capacity) {
  // About 64 keys per split at least, and no more blocks than two waves of the GPU.
  const int64_t by_keys = (capacity + 63) / 64;
  const int64_t by_gpu = std::max<int64_t>(1, 2 * int64_t{ctx.sm_count} / std::max<int64_t>(1, n_kv_heads));
  return static_cast<int>(std::clamp<int64_t>(std::min(by_keys, by_gpu), 1, kMaxSplits));
}

size_t decode_attention_scratch_bytes(int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                                      int splits) {
  return static_cast<size_t>(n_tokens * n_heads * splits * (head_dim + 2)) * sizeof(float);
}

cudaError_t attention_decode(const LaunchContext& ctx, const AttentionArgs& a, int splits,
                             float* scratch, int* counters) {
  if (a.n_tokens == 0) return cudaSuccess;
  switch (a.head_dim) {
    case 32:
      return launch_dpl<1>(ctx, a, splits, scratch, counters);
    case 64:
      return launch_dpl<2>(ctx, a, splits, scratch, counters);
    case 128:
      return launch_dpl<4>(ctx, a, splits, scratch, counters);
    case 256:
      return launch_dpl<8>(ctx, a, splits, scratch, counters);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace hearth::cuda
