// Decode attention on the tensor cores, for f16 caches of 128-dim heads with up to 8 query heads a
// kv head. The CUDA-core kernel (attention_decode.cu) spends ~75 instructions a key on the
// softmax's shuffles and exchanges and is issue-bound at long context; here a warp takes 16 keys
// at a time and two m16n8k16 products (f16 in, f32 out) do the arithmetic:
//   scores (16 keys x 8 heads) = K tile (16 x 128) . Q^T, eight k-steps of 16 dims;
//   O^T (128 dims x 8 heads) += V^T (128 x 16 keys) . P^T, eight tiles of 16 dims.
// Q is rounded to f16 once (scaled), the probabilities P to f16 per tile, as the prefill flash
// attention does; the softmax stays f32 and online per head. Layouts, with r = lane / 4 and
// c = lane % 4 (the mma fragments' row group and column pair):
//  - a lane loads rows r and r + 8 of the tile, 16 bytes at dims 32i + 8c (i = 0..3), for K and
//    for V. The dot product over dims is order-free, so K's A fragment for k-step 2i + h takes
//    those halves 4h..4h+3 as its columns 2c, 2c+1 and 2c+8, 2c+9, and Q's B fragment (head r)
//    the same dims of q: no shuffles, no shared memory;
//  - the scores' C fragment is (keys r, r + 8) x (heads 2c, 2c + 1): each lane's softmax covers
//    two heads; the max over a tile is a reduction over the 8 lanes of a column pair;
//  - P^T's B fragment (keys 2c.., head r) is the transpose of the scores' layout, one movmatrix
//    per 8 keys; V^T's A fragments are V's 8x8 sub-tiles transposed by movmatrix, so the dims of
//    an output row are a permutation known at compile time (out_dim);
//  - the output C fragment is (dims) x (heads 2c, 2c + 1), the heads of the lane's softmax, so
//    the rescale needs no exchange.
// Each warp leaves (max, sum, values) per head in shared memory and the split ends as the other
// kernel's does (finish_split). One tile of keys is loaded ahead into registers (8 KB a warp in
// flight); cp.async rings of 2 or 3 tiles (HEARTH_CUDA_ATTN_MMA_STAGES) cut the memory stalls
// but not the time on an H100, so they are not the default (docs/PERFORMANCE.md).
#include <algorithm>

#include "backend/cuda/kernels/attention_decode_split.cuh"

namespace hearth::cuda::attention_detail {
namespace {

constexpr int kHeadDim = 128;
constexpr int kGroupMax = 8;  // query heads a kv head (the n of m16n8k16)
constexpr int kTileKeys = 16;

__device__ __forceinline__ void mma_16816(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2,
                                          uint32_t a3, uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// The 8x8 matrix of halves a warp holds (lane: row lane / 4, columns 2 (lane % 4) + {0, 1})
// transposed.
__device__ __forceinline__ uint32_t transpose8x8(uint32_t x) {
  uint32_t y;
  asm("movmatrix.sync.aligned.m8n8.trans.b16 %0, %1;" : "=r"(y) : "r"(x));
  return y;
}

__device__ __forceinline__ uint32_t pack_half2(float lo, float hi) {
  const __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&h);
}

__device__ __forceinline__ uint32_t word(const int4& v, int j) {
  return static_cast<uint32_t>(j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w);
}

// Row `row` (0..7) of V^T's sub-tile (i, j) after movmatrix: the dim it stands for.
__device__ __forceinline__ int out_dim(int i, int j, int row) {
  return 32 * i + (row >> 1) * 8 + 2 * j + (row & 1);
}

// A lane's part of a tile: rows r and r + 8, dims 32i + 8c .. + 8, of K and V.
struct KvTile {
  int4 k[2][4];
  int4 v[2][4];
};

__device__ __forceinline__ void load_tile(const __half* kbase, const __half* vbase, int64_t row,
                                          int64_t j0, int64_t last, int r, KvTile& t) {
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const int64_t j = min(j0 + 8 * s + r, last);  // past the end: loaded, then masked
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      t.k[s][i] = load_stream(reinterpret_cast<const int4*>(kbase + j * row + 32 * i));
      t.v[s][i] = load_stream(reinterpret_cast<const int4*>(vbase + j * row + 32 * i));
    }
  }
}

// The cp.async ring (kStages > 0): per warp, kStages tiles of 16 chunks x 32 lanes of 16 bytes
// (8 KB); a lane copies its own chunks (the ones load_tile would put in its registers) and reads
// back only those, so its own cp.async.wait_group orders them and no barrier is needed.
constexpr int kTileChunks = 16;  // a lane's 16-byte pieces of a tile: 2 rows x (K, V) x 4
constexpr int kStageInts = kTileChunks * 32;

__device__ __forceinline__ void cp_async16(int4* smem, const __half* gmem) {
  const auto s = static_cast<uint32_t>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global.L2::128B [%0], [%1], 16;" ::"r"(s), "l"(gmem) : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;" ::: "memory");
}
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(kPending) : "memory");
}

__device__ __forceinline__ void issue_tile(const __half* kbase, const __half* vbase, int64_t row,
                                           int64_t j0, int64_t last, int r, int4* stage) {
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const int64_t j = min(j0 + 8 * s + r, last);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      cp_async16(stage + (8 * s + i) * 32, kbase + j * row + 32 * i);
      cp_async16(stage + (8 * s + 4 + i) * 32, vbase + j * row + 32 * i);
    }
  }
}

__device__ __forceinline__ void read_tile(const int4* stage, KvTile& t) {
#pragma unroll
  for (int s = 0; s < 2; ++s) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      t.k[s][i] = stage[(8 * s + i) * 32];
      t.v[s][i] = stage[(8 * s + 4 + i) * 32];
    }
  }
}

template <int kStages>
constexpr size_t mma_shared_bytes() {
  constexpr size_t ring = size_t{kWarps} * kStages * kStageInts * sizeof(int4);
  constexpr size_t split = sizeof(SplitShared<kGroupMax, kHeadDim>);
  return ring > split ? ring : split;
}

// The grid's y is the splits in use at most; grid_splits is the scratch layout's (every token and
// kernel has the same, sized for the CUDA-core kernel's grid). kStages 0: one tile loaded ahead
// into registers; 2 or 3: a cp.async ring of that many tiles a warp (the split's end reuses it).
template <int kStages, int kMinBlocks>
__global__ void __launch_bounds__(kThreads, kMinBlocks)
    decode_attention_mma_kernel(AttentionArgs a, int grid_splits, float* scratch, int* counters) {
  extern __shared__ int4 dynamic_shared[];
  auto& sh = *reinterpret_cast<SplitShared<kGroupMax, kHeadDim>*>(dynamic_shared);
  const int kvh = blockIdx.x, split = blockIdx.y;
  const int64_t t = blockIdx.z;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int r = lane >> 2, c = lane & 3;
  const int group = static_cast<int>(a.n_heads / a.n_kv_heads);
  allow_next_kernel();
  wait_for_previous_kernel();

  const int64_t n_keys = int64_t{a.positions[t]} + 1;
  const int splits = live_splits(a, n_keys, static_cast<int>(gridDim.y));
  if (split >= splits) return;  // uniform per block, before any barrier or counter
  const int64_t begin = n_keys * split / splits, end = n_keys * (split + 1) / splits;
  const int64_t head0 = t * a.n_heads + int64_t{kvh} * group;

  // Q's B fragments (head r), scaled and rounded to f16; zero for heads past the group.
  uint32_t qb[8][2];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    float x[8] = {};
    if (r < group) {
      const float4* p =
          reinterpret_cast<const float4*>(a.q + (head0 + r) * kHeadDim + 32 * i + 8 * c);
      const float4 lo = __ldg(p), hi = __ldg(p + 1);
      x[0] = lo.x, x[1] = lo.y, x[2] = lo.z, x[3] = lo.w;
      x[4] = hi.x, x[5] = hi.y, x[6] = hi.z, x[7] = hi.w;
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      qb[2 * i + h][0] = pack_half2(x[4 * h] * a.scale, x[4 * h + 1] * a.scale);
      qb[2 * i + h][1] = pack_half2(x[4 * h + 2] * a.scale, x[4 * h + 3] * a.scale);
    }
  }

  const int64_t row = a.n_kv_heads * kHeadDim;
  const __half* kbase = static_cast<const __half*>(a.keys) + int64_t{kvh} * kHeadDim + 8 * c;
  const __half* vbase = static_cast<const __half*>(a.values) + int64_t{kvh} * kHeadDim + 8 * c;
  float acc[8][4] = {};  // O^T tile 2i + h: dims out_dim(i, 2h | 2h + 1, r), heads 2c, 2c + 1
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // heads 2c, 2c + 1

  constexpr int64_t kRound = kWarps * kTileKeys;
  KvTile cur, next;
  int64_t j0 = begin + warp * kTileKeys;
  const int64_t n_tiles = j0 < end ? (end - j0 + kRound - 1) / kRound : 0;
  int4* ring = dynamic_shared + warp * kStages * kStageInts + lane;
  if constexpr (kStages == 0) {
    if (n_tiles > 0) load_tile(kbase, vbase, row, j0, end - 1, r, cur);
  } else {
#pragma unroll
    for (int p = 0; p < kStages - 1; ++p) {
      if (p < n_tiles) {
        issue_tile(kbase, vbase, row, j0 + p * kRound, end - 1, r, ring + p * kStageInts);
      }
      cp_async_commit();
    }
  }
  for (int64_t n = 0; n < n_tiles; ++n, j0 += kRound) {
    if constexpr (kStages == 0) {
      if (n + 1 < n_tiles) load_tile(kbase, vbase, row, j0 + kRound, end - 1, r, next);
    } else {
      const int64_t ahead = n + kStages - 1;
      if (ahead < n_tiles) {
        issue_tile(kbase, vbase, row, j0 + (kStages - 1) * kRound, end - 1, r,
                   ring + static_cast<int>(ahead % kStages) * kStageInts);
      }
      cp_async_commit();
      cp_async_wait<kStages - 1>();
      read_tile(ring + static_cast<int>(n % kStages) * kStageInts, cur);
    }
    float s[4] = {};  // keys r, r + 8 x heads 2c, 2c + 1
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        mma_16816(s, word(cur.k[0][i], 2 * h), word(cur.k[1][i], 2 * h),
                  word(cur.k[0][i], 2 * h + 1), word(cur.k[1][i], 2 * h + 1), qb[2 * i + h][0],
                  qb[2 * i + h][1]);
      }
    }
    if (j0 + r >= end) s[0] = s[1] = -INFINITY;
    if (j0 + 8 + r >= end) s[2] = s[3] = -INFINITY;
    float mx[2] = {fmaxf(s[0], s[2]), fmaxf(s[1], s[3])};
#pragma unroll
    for (int off = 4; off < 32; off *= 2) {
#pragma unroll
      for (int e = 0; e < 2; ++e) mx[e] = fmaxf(mx[e], __shfl_xor_sync(0xffffffffu, mx[e], off));
    }
    float rescale[2];
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const float m_new = fmaxf(m[e], mx[e]);  // finite: key j0 of the tile is live
      rescale[e] = __expf(m[e] - m_new);
      m[e] = m_new;
    }
    const float p0 = __expf(s[0] - m[0]), p1 = __expf(s[1] - m[1]);
    const float p2 = __expf(s[2] - m[0]), p3 = __expf(s[3] - m[1]);
    l[0] = l[0] * rescale[0] + p0 + p2;
    l[1] = l[1] * rescale[1] + p1 + p3;
    const uint32_t pb0 = transpose8x8(pack_half2(p0, p1));  // keys 2c, 2c + 1 of head r
    const uint32_t pb1 = transpose8x8(pack_half2(p2, p3));  // keys 8 + 2c, 9 + 2c
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float(&o)[4] = acc[2 * i + h];
        o[0] *= rescale[0];
        o[1] *= rescale[1];
        o[2] *= rescale[0];
        o[3] *= rescale[1];
        mma_16816(o, transpose8x8(word(cur.v[0][i], 2 * h)),
                  transpose8x8(word(cur.v[0][i], 2 * h + 1)),
                  transpose8x8(word(cur.v[1][i], 2 * h)),
                  transpose8x8(word(cur.v[1][i], 2 * h + 1)), pb0, pb1);
      }
    }
    if constexpr (kStages == 0) cur = next;
  }
  if constexpr (kStages > 0) {
    cp_async_wait<0>();
    __syncthreads();  // the split's end reuses the other warps' rings
  }

  // The warp's partial softmax per head: the sums over the 8 lanes of each column pair.
#pragma unroll
  for (int off = 4; off < 32; off *= 2) {
#pragma unroll
    for (int e = 0; e < 2; ++e) l[e] += __shfl_xor_sync(0xffffffffu, l[e], off);
  }
#pragma unroll
  for (int e = 0; e < 2; ++e) {
    const int g = 2 * c + e;
    if (g >= group) continue;
    if (r == 0) {
      sh.part_ml[warp][g][0] = m[e];
      sh.part_ml[warp][g][1] = l[e];
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        sh.part_o[warp][g][out_dim(i, 2 * h, r)] = acc[2 * i + h][e];
        sh.part_o[warp][g][out_dim(i, 2 * h + 1, r)] = acc[2 * i + h][2 + e];
      }
    }
  }
  __syncthreads();
  finish_split<kGroupMax, kHeadDim>(a, sh, t, kvh, split, splits, grid_splits, head0, group,
                                    scratch, counters, [] {});
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

}  // namespace

bool decode_attention_mma_supports(const AttentionArgs& a, bool fused_rope) {
  return !fused_rope && a.kv == KvFormat::kF16 && a.head_dim == kHeadDim && a.n_kv_heads > 0 &&
         a.n_heads % a.n_kv_heads == 0 && a.n_heads / a.n_kv_heads <= kGroupMax && aligned16(a.q) &&
         aligned16(a.keys) && aligned16(a.values);
}

template <int kStages, int kMinBlocks>
cudaError_t launch_mma(const LaunchContext& ctx, const AttentionArgs& a, int splits, float* scratch,
                       int* counters) {
  // One wave of blocks: a second wave of half-length splits costs more than it hides (32k on an
  // H100: 281 t/s with the CUDA-core kernel's grid of 4 a multiprocessor, 290 with one wave).
  const int64_t wave = std::max<int64_t>(1, int64_t{kMinBlocks} * ctx.sm_count / a.n_kv_heads);
  const int used = static_cast<int>(std::min<int64_t>(splits, wave));
  const dim3 grid(static_cast<unsigned>(a.n_kv_heads), static_cast<unsigned>(used),
                  static_cast<unsigned>(a.n_tokens));
  return launch_kernel(ctx, decode_attention_mma_kernel<kStages, kMinBlocks>, grid, dim3(kThreads),
                       mma_shared_bytes<kStages>(), a, splits, scratch, counters);
}

template <int kStages, int kMinBlocks>
cudaError_t allow_shared_bytes() {
  return cudaFuncSetAttribute(decode_attention_mma_kernel<kStages, kMinBlocks>,
                              cudaFuncAttributeMaxDynamicSharedMemorySize,
                              static_cast<int>(mma_shared_bytes<kStages>()));
}

cudaError_t launch_decode_attention_mma(const LaunchContext& ctx, const AttentionArgs& a,
                                        int splits, float* scratch, int* counters) {
  // Blocks a multiprocessor: 204 registers with one tile ahead in registers fit two (a 3-block
  // build, 168 registers with spills, was 4.5% slower at 32k and is gone); the rings: 3 stages are
  // 96 KB a block (two blocks), 2 stages 64 KB (three).
  switch (ctx.tuning.attention_mma_stages) {
    case 2:
      return launch_mma<2, 3>(ctx, a, splits, scratch, counters);
    case 3:
      return launch_mma<3, 2>(ctx, a, splits, scratch, counters);
    default:
      return launch_mma<0, 2>(ctx, a, splits, scratch, counters);
  }
}

}  // namespace hearth::cuda::attention_detail

namespace hearth::cuda {

cudaError_t decode_attention_mma_init() {
  using namespace attention_detail;
  for (const cudaError_t e : {allow_shared_bytes<2, 3>(), allow_shared_bytes<3, 2>()}) {
    if (e != cudaSuccess) return e;
  }
  return cudaSuccess;
}

}  // namespace hearth::cuda
