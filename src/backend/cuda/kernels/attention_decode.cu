// Attention for a few query tokens over a long KV cache (f16 or f32; decode): split-K over the
// keys. Grid (kv head, split, token); a block's 4 warps take keys of its split in turns of U keys,
// each lane holding head_dim/32 contiguous dims of the query heads that share the kv head
// (grouped-query attention reads each key once for the whole group). Online softmax in f32,
// updated once per U keys (softmax_keys: the scores of U keys x the group's heads reduced over
// the warp together); each split leaves (max, sum, weighted values) in scratch and the last
// block of a (token, kv head) to finish merges the splits (a counter per pair, reset for the
// next launch); a lone split writes the output itself. The number
// of keys per split is read from `positions` when the kernel runs, so the launch is the same at
// every position (CUDA graphs); so is the number of splits in use (one per keys_per_split live
// keys, at most the grid's; one alone up to attention_single_split_keys): a short context is not
// spread over 64 blocks whose merge would cost more than the keys.
#include "backend/cuda/kernels/attention_decode_split.cuh"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace hearth::cuda {
namespace {

using namespace attention_detail;

// One key of the online softmax for one query head: its score (summed over the warp's lanes),
// then the running max m, sum l and weighted values o updated.
template <int DPL>
__device__ __forceinline__ void softmax_step(const float (&q)[DPL], const float (&k)[DPL],
                                             const float (&v)[DPL], float& m, float& l,
                                             float (&o)[DPL]) {
  float s = 0.0f;
#pragma unroll
  for (int d = 0; d < DPL; ++d) s += q[d] * k[d];
  s = warp_sum(s);
  const float m_new = fmaxf(m, s);
  const float c = __expf(m - m_new);
  const float p = __expf(s - m_new);
  l = l * c + p;
#pragma unroll
  for (int d = 0; d < DPL; ++d) o[d] = o[d] * c + p * v[d];
  m = m_new;
}

// U keys of the online softmax at once for G query heads. The U*G partial dot products of a
// lane are summed over the warp by halving exchanges (each step keeps half of the values and
// adds the partner's, so N values need N-1 shuffles, not 5 each), leaving lane L the score of
// pair L >> (5 - log2 N); that lane computes its pair's probability and its head's rescale
// factor (two exponentials a lane instead of two per key and head) and publishes them in
// `shared` [N + 2G floats, per warp] for every lane's value update. `live` keys of the U exist.
template <int DPL, int G, int U>
__device__ __forceinline__ void softmax_keys(const float (&q)[G][DPL], const float (&k)[U][DPL],
                                             const float (&v)[U][DPL], int64_t live, float (&m)[G],
                                             float (&l)[G], float (&o)[G][DPL], int lane,
                                             float* shared) {
  if constexpr (U * G > 32) {  // 32 lanes hold 32 scores: two halves of the keys
    constexpr int H = U / 2;
    softmax_keys<DPL, G, H>(q, *reinterpret_cast<const float(*)[H][DPL]>(&k[0]),
                            *reinterpret_cast<const float(*)[H][DPL]>(&v[0]), live, m, l, o, lane,
                            shared);
    if (live > H) {
      softmax_keys<DPL, G, H>(q, *reinterpret_cast<const float(*)[H][DPL]>(&k[H]),
                              *reinterpret_cast<const float(*)[H][DPL]>(&v[H]), live - H, m, l, o,
                              lane, shared);
    }
  } else {
    constexpr int N = U * G;
    constexpr int kLogN = N == 32 ? 5 : N == 16 ? 4 : N == 8 ? 3 : N == 4 ? 2 : N == 2 ? 1 : 0;
    constexpr int kLogG = G == 8 ? 3 : G == 4 ? 2 : G == 2 ? 1 : 0;
    static_assert((1 << kLogN) == N && (1 << kLogG) == G);
    float part[N];
#pragma unroll
    for (int u = 0; u < U; ++u) {
#pragma unroll
      for (int g = 0; g < G; ++g) {
        float s = 0.0f;
#pragma unroll
        for (int d = 0; d < DPL; ++d) s += q[g][d] * k[u][d];
        part[u * G + g] = s;
      }
    }
#pragma unroll
    for (int half = N / 2, off = 16; half >= 1; half /= 2, off /= 2) {
      const bool upper = (lane & off) != 0;
#pragma unroll
      for (int i = 0; i < half; ++i) {
        const float send = upper ? part[i] : part[i + half];
        const float keep = upper ? part[i + half] : part[i];
        part[i] = keep + __shfl_xor_sync(0xffffffffu, send, off);
      }
    }
    float s = part[0];
#pragma unroll
    for (int off = 16 >> kLogN; off >= 1; off /= 2) s += __shfl_xor_sync(0xffffffffu, s, off);
    const int idx = lane >> (5 - kLogN), key = idx >> kLogG, head = idx & (G - 1);
    if (key >= live) s = -INFINITY;
    float mx = s;  // over the keys: the lane bits above the head's
#pragma unroll
    for (int off = 16; off >= (1 << (5 - kLogN + kLogG)); off /= 2) {
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    }
    float m_old = m[0];
#pragma unroll
    for (int g = 1; g < G; ++g) m_old = head == g ? m[g] : m_old;
    const float m_new = fmaxf(m_old, mx);  // finite: key 0 of a call is live
    __syncwarp();                          // the previous call's readers are done
    if ((lane & ((1 << (5 - kLogN)) - 1)) == 0) {
      shared[idx] = __expf(s - m_new);
      if (key == 0) {
        shared[N + head] = __expf(m_old - m_new);
        shared[N + G + head] = m_new;
      }
    }
    __syncwarp();
#pragma unroll
    for (int g = 0; g < G; ++g) {
      const float c = shared[N + g];
      m[g] = shared[N + G + g];
      float psum = 0.0f;
      float acc[DPL];
#pragma unroll
      for (int d = 0; d < DPL; ++d) acc[d] = o[g][d] * c;
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const float p = shared[u * G + g];
        psum += p;
#pragma unroll
        for (int d = 0; d < DPL; ++d) acc[d] += p * v[u][d];
      }
      l[g] = l[g] * c + psum;
#pragma unroll
      for (int d = 0; d < DPL; ++d) o[g][d] = acc[d];
    }
  }
}

template <int DPL>
__device__ __forceinline__ void load_dims(const float* p, float out[DPL]) {
  if constexpr (DPL % 4 == 0) {
#pragma unroll
    for (int i = 0; i < DPL; i += 4) {
      const float4 v = load_stream(reinterpret_cast<const float4*>(p + i));
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

// A lane's DPL elements of one cached key or value row as loaded (f32: the floats; f16: the
// halves, two per word), kept raw until used so that the loads stay in flight: converting right
// after the load would wait for it.
template <typename KV, int DPL>
struct LaneRow {
  float x[DPL];
};
template <int DPL>
struct LaneRow<__half, DPL> {
  uint32_t x[(DPL + 1) / 2];
};

template <typename KV, int DPL>
__device__ __forceinline__ void load_row(const KV* p, LaneRow<KV, DPL>& r) {
  if constexpr (std::is_same_v<KV, float>) {
    load_dims<DPL>(p, r.x);
  } else if constexpr (DPL == 8) {
    const int4 v = load_stream(reinterpret_cast<const int4*>(p));
    r.x[0] = static_cast<uint32_t>(v.x);
    r.x[1] = static_cast<uint32_t>(v.y);
    r.x[2] = static_cast<uint32_t>(v.z);
    r.x[3] = static_cast<uint32_t>(v.w);
  } else if constexpr (DPL == 4) {
    const uint2 v = load_stream(reinterpret_cast<const uint2*>(p));
    r.x[0] = v.x;
    r.x[1] = v.y;
  } else if constexpr (DPL == 2) {
    r.x[0] = load_stream(reinterpret_cast<const unsigned int*>(p));
  } else {
    r.x[0] = load_stream(reinterpret_cast<const uint16_t*>(p));
  }
}

template <typename KV, int DPL>
__device__ __forceinline__ void row_floats(const LaneRow<KV, DPL>& r, float (&out)[DPL]) {
  if constexpr (std::is_same_v<KV, float>) {
#pragma unroll
    for (int d = 0; d < DPL; ++d) out[d] = r.x[d];
  } else if constexpr (DPL == 1) {
    out[0] = half_bits_to_float(static_cast<uint16_t>(r.x[0]));
  } else {
#pragma unroll
    for (int i = 0; i < DPL / 2; ++i) {
      const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&r.x[i]));
      out[2 * i] = f.x;
      out[2 * i + 1] = f.y;
    }
  }
}

// x as the cache holds it (f16: rounded), so a key used from registers equals its stored copy.
template <typename KV>
__device__ __forceinline__ float as_stored(float x) {
  if constexpr (std::is_same_v<KV, __half>) {
    return __half2float(__float2half_rn(x));
  } else {
    return x;
  }
}

// Rope of the DPL dims a lane holds (dims lane * DPL ..) of one head at position `pos`, for the
// fused decode path. The angles are the same for every head: lane_rope_angles() computes them
// once (pos * inv_freq in double, as rope_kernel does; the cosine and sine then rounded to
// float), rotate_lane_dims() applies them to a head in float. A dim's pair partner is in the same
// lane (adjacent pairs) or in lane `lane ^ (half / DPL)` (NeoX); decode_rope_supported()
// guarantees one of the two. Every lane must call rotate_lane_dims (shuffles).
template <int DPL>
__device__ __forceinline__ void lane_rope_angles(int lane, int pos, const RopeParams& p,
                                                 float (&cs)[DPL], float (&sn)[DPL]) {
  const int half = p.rotary_dim / 2;
#pragma unroll
  for (int d = 0; d < DPL; ++d) {
    const int dim = lane * DPL + d;
    cs[d] = 1.0f;
    sn[d] = 0.0f;
    if (dim >= p.rotary_dim) continue;
    if (p.adjacent_pairs && d % 2 == 1) {  // the pair's first dim computed it
      cs[d] = cs[d - 1];
      sn[d] = sn[d - 1];
      continue;
    }
    const int i = p.adjacent_pairs ? dim / 2 : (dim < half ? dim : dim - half);
    double s, c;
    sincos(static_cast<double>(pos) * p.inv_freq[i], &s, &c);
    cs[d] = static_cast<float>(c);
    sn[d] = static_cast<float>(s);
  }
}

template <int DPL>
__device__ __forceinline__ void rotate_lane_dims(float (&x)[DPL], int lane, const RopeParams& p,
                                                 const float (&cs)[DPL], const float (&sn)[DPL]) {
  const int half = p.rotary_dim / 2;
  float partner[DPL];
  if (p.adjacent_pairs) {
#pragma unroll
    for (int d = 0; d < DPL; ++d) partner[d] = x[d ^ 1];
  } else {
    const int offset = max(1, half / DPL);
#pragma unroll
    for (int d = 0; d < DPL; ++d) partner[d] = __shfl_xor_sync(0xffffffffu, x[d], offset);
  }
#pragma unroll
  for (int d = 0; d < DPL; ++d) {
    const int dim = lane * DPL + d;
    const bool first = p.adjacent_pairs ? (dim % 2 == 0) : dim < half;
    // Dims past rotary_dim have cos 1, sin 0: unchanged.
    x[d] = first ? x[d] * cs[d] - partner[d] * sn[d] : partner[d] * sn[d] + x[d] * cs[d];
  }
}

// KV: the cache's element type (float or __half). U: keys per softmax update
// (KernelTuning::attention_keys_in_flight). S: rounds of U keys a warp holds in registers, S - 1
// of them loading while one is used (KernelTuning::attention_load_stages). kRope: the fused
// rope + KV store path (a separate instantiation, so the plain one keeps its registers).
template <typename KV, int DPL, int GMAX, int U, int S, bool kRope>
__global__ void __launch_bounds__(kThreads)
    decode_attention_kernel(AttentionArgs a, int splits, float* scratch, int* counters,
                            DecodeRope rope) {
  constexpr int kHeadDim = DPL * 32;
  __shared__ SplitShared<GMAX, kHeadDim> sh;
  __shared__ float warp_shared[kWarps][2 * 32];  // softmax_keys' probabilities and rescales
  const int kvh = blockIdx.x, split = blockIdx.y;
  const int64_t t = blockIdx.z;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int group = static_cast<int>(a.n_heads / a.n_kv_heads);
  allow_next_kernel();
  wait_for_previous_kernel();

  const bool batched = a.batched_softmax;  // uniform per launch
  const int64_t n_keys = int64_t{a.positions[t]} + 1;
  const int grid_splits = splits;  // the scratch layout: every token has the grid's splits
  splits = live_splits(a, n_keys, splits);
  if (split >= splits) return;  // uniform per block, before any barrier or counter
  const int64_t begin = n_keys * split / splits, end = n_keys * (split + 1) / splits;
  const int64_t head0 = t * a.n_heads + int64_t{kvh} * group;  // first query head of the group

  // Fused rope (one token): q arrives unrotated and is rotated here; the split that holds the
  // new key (the last) rotates k, writes k and v to the cache and uses them from registers, so
  // no block reads a cache row written in this launch.
  constexpr bool fused = kRope;
  const int pos = a.positions[t];
  const bool owns_new_key = fused && split == splits - 1;
  float cs[DPL], sn[DPL];  // the lane's rope angles, for every head (fused path)
  if constexpr (fused) lane_rope_angles<DPL>(lane, pos, rope.p, cs, sn);
  float q[GMAX][DPL], o[GMAX][DPL], m[GMAX], l[GMAX];
#pragma unroll
  for (int g = 0; g < GMAX; ++g) {
    if (g < group) {
      load_dims<DPL>(a.q + (head0 + g) * kHeadDim + lane * DPL, q[g]);
    } else {
#pragma unroll
      for (int d = 0; d < DPL; ++d) q[g][d] = 0.0f;
    }
    if constexpr (fused) rotate_lane_dims<DPL>(q[g], lane, rope.p, cs, sn);
#pragma unroll
    for (int d = 0; d < DPL; ++d) {
      q[g][d] *= a.scale;
      o[g][d] = 0.0f;
    }
    m[g] = -INFINITY;
    l[g] = 0.0f;
  }

  const int64_t row = a.n_kv_heads * kHeadDim;
  const KV* keys = static_cast<const KV*>(a.keys);
  const KV* values = static_cast<const KV*>(a.values);
  const KV* kbase = keys + int64_t{kvh} * kHeadDim + lane * DPL;
  const KV* vbase = values + int64_t{kvh} * kHeadDim + lane * DPL;
  // Warp 0 of the new key's owner reads, rotates and stores it, and later adds it to its softmax.
  float knew[DPL], vnew[DPL];
  const int64_t end_loop = owns_new_key ? end - 1 : end;  // the new key comes from registers
  if (fused && owns_new_key && warp == 0) {
    const int64_t off = int64_t{kvh} * kHeadDim + lane * DPL;
#pragma unroll
    for (int d = 0; d < DPL; ++d) {
      knew[d] = rope.k[off + d];
      vnew[d] = rope.v[off + d];
    }
    rotate_lane_dims<DPL>(knew, lane, rope.p, cs, sn);
    KV* kcache = const_cast<KV*>(keys) + int64_t{pos} * row + off;
    KV* vcache = const_cast<KV*>(values) + int64_t{pos} * row + off;
#pragma unroll
    for (int d = 0; d < DPL; ++d) {
      rope.k[off + d] = knew[d];
      kcache[d] = to_kv<KV>(knew[d]);
      vcache[d] = to_kv<KV>(vnew[d]);
      knew[d] = as_stored<KV>(knew[d]);
      vnew[d] = as_stored<KV>(vnew[d]);
    }
  }
  // Software pipelined over S register stages: round i's U keys are used while rounds i + 1 ..
  // i + S - 1 are loading. The loop body takes S rounds, so every stage index is static
  // (registers, not local memory); a round past the split's end is skipped (uniform per warp).
  LaneRow<KV, DPL> kr[S][U], vr[S][U];
  const auto load_keys = [&](int64_t j0, LaneRow<KV, DPL>(&kd)[U], LaneRow<KV, DPL>(&vd)[U]) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int64_t j = max(begin, min(j0 + u, end_loop - 1));
      load_row<KV, DPL>(kbase + j * row, kd[u]);
      load_row<KV, DPL>(vbase + j * row, vd[u]);
    }
  };
  constexpr int64_t kRound = kWarps * U;  // keys between a warp's consecutive rounds
  const int64_t first = begin + warp * U;
#pragma unroll
  for (int s = 0; s + 1 < S; ++s) {
    if (first + s * kRound < end_loop) load_keys(first + s * kRound, kr[s], vr[s]);
  }
  for (int64_t j0 = first; j0 < end_loop; j0 += S * kRound) {
#pragma unroll
    for (int s = 0; s < S; ++s) {
      const int64_t jc = j0 + s * kRound, jl = jc + (S - 1) * kRound;
      if (jl < end_loop) load_keys(jl, kr[(s + S - 1) % S], vr[(s + S - 1) % S]);
      if (jc >= end_loop) break;
      float kf[U][DPL], vf[U][DPL];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        row_floats<KV, DPL>(kr[s][u], kf[u]);
        row_floats<KV, DPL>(vr[s][u], vf[u]);
      }
      if (batched) {
        softmax_keys<DPL, GMAX, U>(q, kf, vf, end_loop - jc, m, l, o, lane, warp_shared[warp]);
      } else {
#pragma unroll
        for (int u = 0; u < U; ++u) {
          if (jc + u >= end_loop) break;
#pragma unroll
          for (int g = 0; g < GMAX; ++g) {
            if (g >= group) break;
            softmax_step<DPL>(q[g], kf[u], vf[u], m[g], l[g], o[g]);
          }
        }
      }
    }
  }

  if (owns_new_key && warp == 0) {  // the new key, once per block
#pragma unroll
    for (int g = 0; g < GMAX; ++g) {
      if (g >= group) break;
      softmax_step<DPL>(q[g], knew, vnew, m[g], l[g], o[g]);
    }
  }

  // Merge the warps' partial softmaxes, then this split's result goes to scratch.
#pragma unroll
  for (int g = 0; g < GMAX; ++g) {
    if (lane == 0) {
      sh.part_ml[warp][g][0] = m[g];
      sh.part_ml[warp][g][1] = l[g];
    }
#pragma unroll
    for (int d = 0; d < DPL; ++d) sh.part_o[warp][g][lane * DPL + d] = o[g][d];
  }
  __syncthreads();
  // Fused rope: once every split has read q, the rotated q replaces it (the last block's job).
  const auto rewrite_q = [&] {
    if constexpr (fused) {
      for (int g = 0; warp == 0 && g < group; ++g) {
        float* qh = const_cast<float*>(a.q) + (head0 + g) * kHeadDim + lane * DPL;
        float x[DPL];
#pragma unroll
        for (int d = 0; d < DPL; ++d) x[d] = __ldcg(qh + d);
        rotate_lane_dims<DPL>(x, lane, rope.p, cs, sn);
#pragma unroll
        for (int d = 0; d < DPL; ++d) qh[d] = x[d];
      }
    }
  };
  finish_split<GMAX, kHeadDim>(a, sh, t, kvh, split, splits, grid_splits, head0, group, scratch,
                               counters, rewrite_q);
}

template <typename KV, int DPL, int U, int S>
cudaError_t launch_u(const LaunchContext& ctx, const AttentionArgs& a, int splits, float* scratch,
                     int* counters, const DecodeRope& rope) {
  const dim3 grid(static_cast<unsigned>(a.n_kv_heads), static_cast<unsigned>(splits),
                  static_cast<unsigned>(a.n_tokens));
  const bool fused = rope.k != nullptr;
  if (a.n_heads / a.n_kv_heads <= 4) {
    return launch_kernel(ctx,
                         fused ? decode_attention_kernel<KV, DPL, 4, U, S, true>
                               : decode_attention_kernel<KV, DPL, 4, U, S, false>,
                         grid, dim3(kThreads), 0, a, splits, scratch, counters, rope);
  }
  return launch_kernel(ctx,
                       fused ? decode_attention_kernel<KV, DPL, 8, U, S, true>
                             : decode_attention_kernel<KV, DPL, 8, U, S, false>,
                       grid, dim3(kThreads), 0, a, splits, scratch, counters, rope);
}

template <typename KV, int DPL>
cudaError_t launch_dpl(const LaunchContext& ctx, const AttentionArgs& a, int splits, float* scratch,
                       int* counters, const DecodeRope& rope) {
  if (ctx.tuning.attention_keys_in_flight == 4) {  // one round ahead only
    return launch_u<KV, DPL, 4, 2>(ctx, a, splits, scratch, counters, rope);
  }
  switch (ctx.tuning.attention_load_stages) {
    case 2:
      return launch_u<KV, DPL, 2, 2>(ctx, a, splits, scratch, counters, rope);
    case 4:
      return launch_u<KV, DPL, 2, 4>(ctx, a, splits, scratch, counters, rope);
    default:
      return launch_u<KV, DPL, 2, 3>(ctx, a, splits, scratch, counters, rope);
  }
}

template <typename KV>
cudaError_t launch_kv(const LaunchContext& ctx, const AttentionArgs& a, int splits, float* scratch,
                      int* counters, const DecodeRope& r) {
  switch (a.head_dim) {
    case 32:
      return launch_dpl<KV, 1>(ctx, a, splits, scratch, counters, r);
    case 64:
      return launch_dpl<KV, 2>(ctx, a, splits, scratch, counters, r);
    case 128:
      return launch_dpl<KV, 4>(ctx, a, splits, scratch, counters, r);
    case 256:
      return launch_dpl<KV, 8>(ctx, a, splits, scratch, counters, r);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace

bool decode_attention_supports(int64_t head_dim, int64_t group) {
  return (head_dim == 32 || head_dim == 64 || head_dim == 128 || head_dim == 256) && group >= 1 &&
         group <= 8;
}

int decode_attention_splits(const LaunchContext& ctx, int64_t n_kv_heads, int64_t capacity) {
  // About 16 keys per split at least (one round of the block's warps), and about
  // attention_blocks_per_sm blocks per multiprocessor (4 by default).
  const int64_t by_keys = (capacity + 15) / 16;
  const int64_t per_sm =
      ctx.tuning.attention_blocks_per_sm > 0 ? ctx.tuning.attention_blocks_per_sm : 4;
  const int64_t by_gpu =
      std::max<int64_t>(1, per_sm * int64_t{ctx.sm_count} / std::max<int64_t>(1, n_kv_heads));
  return static_cast<int>(std::clamp<int64_t>(std::min(by_keys, by_gpu), 1, kMaxSplits));
}

size_t decode_attention_scratch_bytes(int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                                      int splits) {
  return static_cast<size_t>(n_tokens * n_heads * splits * (head_dim + 4)) * sizeof(float);
}

bool decode_rope_supported(int64_t head_dim, const RopeParams& p) {
  const int64_t dpl = head_dim / 32, half = p.rotary_dim / 2;
  if (head_dim % 32 != 0 || p.rotary_dim < 2 || p.rotary_dim > head_dim || p.rotary_dim % 2 != 0) {
    return false;
  }
  if (p.adjacent_pairs) return dpl >= 2 && p.rotary_dim % dpl == 0;
  const int64_t lanes = half / dpl;  // lane distance of NeoX partners
  return half % dpl == 0 && lanes >= 1 && lanes <= 16 && (lanes & (lanes - 1)) == 0;
}

cudaError_t attention_decode(const LaunchContext& ctx, const AttentionArgs& args, int splits,
                             float* scratch, int* counters, const DecodeRope* rope) {
  if (args.n_tokens == 0) return cudaSuccess;
  DecodeRope r{};
  if (rope != nullptr) {
    if (args.n_tokens != 1 || !decode_rope_supported(args.head_dim, rope->p)) {
      return cudaErrorInvalidValue;
    }
    r = *rope;
  }
  AttentionArgs a = args;
  a.keys_per_split = ctx.tuning.attention_keys_per_split;
  a.single_split_keys = ctx.tuning.attention_single_split_keys;
  a.batched_softmax = ctx.tuning.attention_batched_softmax;
  // merge_splits stores float4s: an output view off 16-byte alignment takes the other merge.
  a.fast_merge = ctx.tuning.attention_fast_merge && reinterpret_cast<uintptr_t>(args.out) % 16 == 0;
  if (ctx.tuning.attention_mma && decode_attention_mma_supports(a, rope != nullptr)) {
    return launch_decode_attention_mma(ctx, a, splits, scratch, counters);
  }
  return a.kv == KvFormat::kF16 ? launch_kv<__half>(ctx, a, splits, scratch, counters, r)
                                : launch_kv<float>(ctx, a, splits, scratch, counters, r);
}

}  // namespace hearth::cuda
