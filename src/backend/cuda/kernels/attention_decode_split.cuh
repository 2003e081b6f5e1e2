// What the decode attention kernels (attention_decode.cu: f16 or f32 keys on the CUDA cores;
// attention_decode_mma.cu: f16 keys on the tensor cores) share: the block shape, each split's
// end (the warps' partial softmaxes merged, the split's result to scratch or, for a lone split,
// to the output) and the merge of a (token, kv head)'s splits by the last block to finish.
#pragma once

#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

namespace hearth::cuda::attention_detail {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kMaxSplits = 256;

// The splits a token's keys take: one (no merge) up to single_split_keys live keys, else one per
// keys_per_split, at most `available` (the grid's; keys_per_split 0: all of them).
__device__ __forceinline__ int live_splits(const AttentionArgs& a, int64_t n_keys, int available) {
  if (n_keys <= a.single_split_keys) return 1;
  if (a.keys_per_split <= 0) return available;
  const int64_t wanted = (n_keys + a.keys_per_split - 1) / a.keys_per_split;
  return static_cast<int>(wanted < available ? (wanted < 1 ? 1 : wanted) : available);
}

// A block's shared memory for the end of its split: each warp's (max, sum) and weighted values
// per query head of the group, then the merge's weights.
template <int GMAX, int kHeadDim>
struct SplitShared {
  float part_ml[kWarps][GMAX][2];
  float part_o[kWarps][GMAX][kHeadDim];
  float merge_w[GMAX][kMaxSplits];  // merge_splits' weight of each split
  float merge_l[GMAX];
  int is_last;
};

// The splits of one (token, kv head) merged by the last block to finish them: warp w takes the
// heads w, w + kWarps, ..., its lanes read every split's (max, sum) at once and leave each
// split's weight exp(m_s - M) in w and the head's total sum in l; then each thread adds up
// weight x values for 4 consecutive dims of a head, 8 splits' float4 loads in flight. (The
// previous merge read the splits one after another per element: a chain of L2 round trips in
// the one block of the kv head still running.)
template <int GMAX, int kHeadDim>
__device__ __forceinline__ void merge_splits(const AttentionArgs& a, int64_t head0, int group,
                                             int splits, int grid_splits, const float* scratch,
                                             float (&w)[GMAX][kMaxSplits], float (&l)[GMAX]) {
  constexpr int64_t stride = kHeadDim + 4;
  constexpr int kPerLane = kMaxSplits / 32;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int g = warp; g < group; g += kWarps) {
    const float* src = scratch + (head0 + g) * grid_splits * stride;
    float ms[kPerLane], ls[kPerLane];
    float mx = -INFINITY;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int s = lane + 32 * i;
      ms[i] = s < splits ? __ldcg(src + s * stride) : -INFINITY;
      ls[i] = s < splits ? __ldcg(src + s * stride + 1) : 0.0f;
      mx = fmaxf(mx, ms[i]);
    }
    mx = warp_max(mx);
    float total = 0.0f;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const float f = ms[i] == -INFINITY ? 0.0f : __expf(ms[i] - mx);
      total += ls[i] * f;
      if (lane + 32 * i < splits) w[g][lane + 32 * i] = f;
    }
    total = warp_sum(total);
    if (lane == 0) l[g] = total;
  }
  __syncthreads();
  constexpr int kQuads = kHeadDim / 4;
  for (int idx = threadIdx.x; idx < group * kQuads; idx += kThreads) {
    const int g = idx / kQuads, d = (idx % kQuads) * 4;
    const float* src = scratch + (head0 + g) * grid_splits * stride + 4 + d;
    float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    const auto add = [&](const float4& v, float f) {
      acc.x += f * v.x;
      acc.y += f * v.y;
      acc.z += f * v.z;
      acc.w += f * v.w;
    };
    int s = 0;
    for (; s + 8 <= splits; s += 8) {
      float4 v[8];
#pragma unroll
      for (int j = 0; j < 8; ++j)
        v[j] = __ldcg(reinterpret_cast<const float4*>(src + (s + j) * stride));
#pragma unroll
      for (int j = 0; j < 8; ++j) add(v[j], w[g][s + j]);
    }
    for (; s < splits; ++s) add(__ldcg(reinterpret_cast<const float4*>(src + s * stride)), w[g][s]);
    const float inv = 1.0f / l[g];
    *reinterpret_cast<float4*>(a.out + (head0 + g) * kHeadDim + d) =
        make_float4(acc.x * inv, acc.y * inv, acc.z * inv, acc.w * inv);
  }
}

// The end of a split, once every warp has left its (max, sum, values) in `sh` (after a
// __syncthreads): one split (a short context; uniform per launch) writes the output with no
// scratch, counter or second pass; otherwise the split's result goes to scratch and the last
// block of the (token, kv head) to finish merges all splits and resets the counter.
// `after_output` runs in every block that wrote output, after it did (the fused rope's q).
template <int GMAX, int kHeadDim, typename AfterOutput>
__device__ __forceinline__ void finish_split(const AttentionArgs& a,
                                             SplitShared<GMAX, kHeadDim>& sh, int64_t t, int kvh,
                                             int split, int splits, int grid_splits, int64_t head0,
                                             int group, float* scratch, int* counters,
                                             AfterOutput after_output) {
  const bool alone = splits == 1;
  // Per (token, head, split): max, sum, two floats of padding, values (16-byte aligned rows).
  const int64_t stride = kHeadDim + 4;
  for (int idx = threadIdx.x; idx < group * kHeadDim; idx += kThreads) {
    const int g = idx / kHeadDim, d = idx % kHeadDim;
    float mx = -INFINITY;
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, sh.part_ml[w][g][0]);
    float sum = 0.0f, val = 0.0f;
    if (mx > -INFINITY) {
      for (int w = 0; w < kWarps; ++w) {
        const float f = __expf(sh.part_ml[w][g][0] - mx);
        sum += sh.part_ml[w][g][1] * f;
        val += sh.part_o[w][g][d] * f;
      }
    }
    if (alone) {  // every key is in this block: sum > 0
      a.out[(head0 + g) * kHeadDim + d] = val / sum;
      continue;
    }
    float* dst = scratch + ((head0 + g) * grid_splits + split) * stride;
    if (d == 0) {
      dst[0] = mx;
      dst[1] = sum;
    }
    dst[4 + d] = val;
  }

  if (alone) {
    after_output();
    return;
  }
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    const int done = atomicAdd(&counters[t * a.n_kv_heads + kvh], 1);
    sh.is_last = done == splits - 1;
  }
  __syncthreads();
  if (!sh.is_last) return;
  __threadfence();
  if (a.fast_merge) {
    merge_splits<GMAX, kHeadDim>(a, head0, group, splits, grid_splits, scratch, sh.merge_w,
                                 sh.merge_l);
  } else {
    for (int idx = threadIdx.x; idx < group * kHeadDim; idx += kThreads) {
      const int g = idx / kHeadDim, d = idx % kHeadDim;
      const float* src = scratch + (head0 + g) * grid_splits * stride;
      float mx = -INFINITY;
      for (int s = 0; s < splits; ++s) mx = fmaxf(mx, __ldcg(src + s * stride));
      float sum = 0.0f, val = 0.0f;
      for (int s = 0; s < splits; ++s) {
        const float ms = __ldcg(src + s * stride);
        if (ms == -INFINITY) continue;
        const float f = __expf(ms - mx);
        sum += __ldcg(src + s * stride + 1) * f;
        val += __ldcg(src + s * stride + 4 + d) * f;
      }
      a.out[(head0 + g) * kHeadDim + d] = val / sum;
    }
  }
  after_output();
  if (threadIdx.x == 0) counters[t * a.n_kv_heads + kvh] = 0;
}

// The tensor-core kernel, for f16 keys of 128 dims, up to 8 query heads a kv head, no fused rope
// (decode_attention_mma_supports); `splits` as for the other kernel.
bool decode_attention_mma_supports(const AttentionArgs& a, bool fused_rope);
cudaError_t launch_decode_attention_mma(const LaunchContext& ctx, const AttentionArgs& a,
                                        int splits, float* scratch, int* counters);

}  // namespace hearth::cuda::attention_detail
