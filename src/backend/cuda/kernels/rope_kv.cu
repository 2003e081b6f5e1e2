// Rotary position embedding and KV-cache writes (f32 or f16 caches). Both read the tokens'
// positions from device memory when they run, so a recorded decode step serves every position.
#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

#include <algorithm>

namespace hearth::cuda {
namespace {

constexpr int kThreads = 128;

// One thread per (token, head, pair): the angle in double precision as the reference computes
// it (a recomputed sincos per head is cheaper than a loop over heads, whose loads and stores the
// compiler cannot overlap).
__global__ void rope_kernel(float* x, int64_t n_tokens, int64_t heads, int64_t head_dim,
                            const int32_t* positions, RopeParams p) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int half = p.rotary_dim / 2;
  const int64_t item = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (item >= n_tokens * heads * half) return;
  const int i = static_cast<int>(item % half);
  const int64_t th = item / half;  // token * heads + head
  const int64_t t = th / heads;
  double s, c;
  sincos(static_cast<double>(positions[t]) * p.inv_freq[i], &s, &c);
  const int i0 = p.adjacent_pairs ? 2 * i : i;
  const int i1 = p.adjacent_pairs ? 2 * i + 1 : i + half;
  float* head = x + th * head_dim;
  const double x0 = head[i0], x1 = head[i1];
  head[i0] = rope_first(x0, x1, c, s);
  head[i1] = rope_second(x0, x1, c, s);
}

template <typename KV>
__global__ void store_kv_kernel(const float* k, const float* v, int64_t n_tokens, int64_t row,
                                const int32_t* positions, KV* keys, KV* values) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int64_t n = n_tokens * row;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = i / row, c = i % row;
    const int64_t dst = int64_t{positions[t]} * row + c;
    keys[dst] = to_kv<KV>(k[i]);
    values[dst] = to_kv<KV>(v[i]);
  }
}

// Block (token, head) of q's heads then k's; thread i rotates pair i of that head. k's blocks
// then write the rotated k row and the v row to the cache at the token's position.
template <typename KV>
__global__ void rope_qk_store_kernel(float* q, int64_t q_heads, float* k, const float* v,
                                     int64_t kv_heads, int64_t head_dim, const int32_t* positions,
                                     RopeParams p, KV* keys, KV* values) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int64_t heads = q_heads + kv_heads;
  const int64_t t = blockIdx.x / heads, h = blockIdx.x % heads;
  const bool is_q = h < q_heads;
  float* head =
      is_q ? q + (t * q_heads + h) * head_dim : k + (t * kv_heads + h - q_heads) * head_dim;
  const int half = p.rotary_dim / 2;
  const int i = static_cast<int>(threadIdx.x);
  if (i < half) {
    double s, c;
    sincos(static_cast<double>(positions[t]) * p.inv_freq[i], &s, &c);
    const int i0 = p.adjacent_pairs ? 2 * i : i;
    const int i1 = p.adjacent_pairs ? 2 * i + 1 : i + half;
    const double x0 = head[i0], x1 = head[i1];
    head[i0] = rope_first(x0, x1, c, s);
    head[i1] = rope_second(x0, x1, c, s);
  }
  if (is_q) return;  // uniform per block
  __syncthreads();
  const int64_t kvh = h - q_heads;
  const int64_t dst = (int64_t{positions[t]} * kv_heads + kvh) * head_dim;
  const float* vrow = v + (t * kv_heads + kvh) * head_dim;
  for (int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
    keys[dst + d] = to_kv<KV>(head[d]);
    values[dst + d] = to_kv<KV>(vrow[d]);
  }
}

// f(KV{}) with KV the cache's element type (float or __half): one launch site per kernel.
template <typename F>
cudaError_t with_kv_type(KvFormat kv, F&& f) {
  return kv == KvFormat::kF16 ? f(__half{}) : f(float{});
}

}  // namespace

cudaError_t rope_qk_store(const LaunchContext& ctx, float* q, int64_t q_heads, float* k,
                          const float* v, int64_t kv_heads, int64_t n_tokens, int64_t head_dim,
                          const int32_t* positions, const RopeParams& params, KvFormat kv,
                          void* keys, void* values) {
  if (n_tokens == 0) return cudaSuccess;
  const int64_t threads =
      std::max<int64_t>(32, (std::max<int64_t>(params.rotary_dim / 2, 1) + 31) / 32 * 32);
  if (threads > 1024) return cudaErrorInvalidValue;
  const dim3 grid(static_cast<unsigned>(n_tokens * (q_heads + kv_heads)));
  const dim3 block(static_cast<unsigned>(threads));
  return with_kv_type(kv, [&](auto tag) {
    using KV = decltype(tag);
    return launch_kernel(ctx, rope_qk_store_kernel<KV>, grid, block, 0, q, q_heads, k, v, kv_heads,
                         head_dim, positions, params, static_cast<KV*>(keys),
                         static_cast<KV*>(values));
  });
}

cudaError_t rope(const LaunchContext& ctx, float* x, int64_t n_tokens, int64_t heads,
                 int64_t head_dim, const int32_t* positions, const RopeParams& params) {
  const int64_t items = n_tokens * heads * (params.rotary_dim / 2);
  if (items == 0) return cudaSuccess;
  const auto grid = static_cast<unsigned>((items + kThreads - 1) / kThreads);
  return launch_kernel(ctx, rope_kernel, dim3(grid), dim3(kThreads), 0, x, n_tokens, heads,
                       head_dim, positions, params);
}

cudaError_t store_kv(const LaunchContext& ctx, const float* k, const float* v, int64_t n_tokens,
                     int64_t row, const int32_t* positions, KvFormat kv, void* keys, void* values) {
  const int64_t n = n_tokens * row;
  if (n == 0) return cudaSuccess;
  const auto blocks =
      static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, int64_t{ctx.sm_count} * 8));
  return with_kv_type(kv, [&](auto tag) {
    using KV = decltype(tag);
    return launch_kernel(ctx, store_kv_kernel<KV>, dim3(blocks), dim3(256), 0, k, v, n_tokens, row,
                         positions, static_cast<KV*>(keys), static_cast<KV*>(values));
  });
}

}  // namespace hearth::cuda
