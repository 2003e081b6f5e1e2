// Rotary position embedding and KV-cache writes. Both read the tokens' positions from device
// memory when they run, so a recorded decode step serves every position.
#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

#include <algorithm>

namespace hearth::cuda {
namespace {

constexpr int kThreads = 128;

// One thread per (token, pair): the angle in double precision as the reference computes it,
// applied to that pair of every head.
__global__ void rope_kernel(float* x, int64_t n_tokens, int64_t heads, int64_t head_dim,
                            const int32_t* positions, RopeParams p) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int half = p.rotary_dim / 2;
  const int64_t item = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (item >= n_tokens * half) return;
  const int64_t t = item / half;
  const int i = static_cast<int>(item % half);
  double s, c;
  sincos(static_cast<double>(positions[t]) * p.inv_freq[i], &s, &c);
  const int i0 = p.adjacent_pairs ? 2 * i : i;
  const int i1 = p.adjacent_pairs ? 2 * i + 1 : i + half;
  for (int64_t h = 0; h < heads; ++h) {
    float* head = x + (t * heads + h) * head_dim;
    const double x0 = head[i0], x1 = head[i1];
    head[i0] = static_cast<float>(x0 * c - x1 * s);
    head[i1] = static_cast<float>(x0 * s + x1 * c);
  }
}

__global__ void store_kv_kernel(const float* k, const float* v, int64_t n_tokens, int64_t row,
                                const int32_t* positions, float* keys, float* values) {
  allow_next_kernel();
  wait_for_previous_kernel();
  const int64_t n = n_tokens * row;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = i / row, c = i % row;
    const int64_t dst = int64_t{positions[t]} * row + c;
    keys[dst] = k[i];
    values[dst] = v[i];
  }
}

}  // namespace

cudaError_t rope(const LaunchContext& ctx, float* x, int64_t n_tokens, int64_t heads,
                 int64_t head_dim, const int32_t* positions, const RopeParams& params) {
  const int64_t items = n_tokens * (params.rotary_dim / 2);
  if (items == 0) return cudaSuccess;
  const auto grid = static_cast<unsigned>((items + kThreads - 1) / kThreads);
  return launch_kernel(ctx, rope_kernel, dim3(grid), dim3(kThreads), 0, x, n_tokens, heads,
                       head_dim, positions, params);
}

cudaError_t store_kv(const LaunchContext& ctx, const float* k, const float* v, int64_t n_tokens,
                     int64_t row, const int32_t* positions, float* keys, float* values) {
  const int64_t n = n_tokens * row;
  if (n == 0) return cudaSuccess;
  const int64_t blocks = std::min<int64_t>((n + 255) / 256, int64_t{ctx.sm_count} * 8);
  return launch_kernel(ctx, store_kv_kernel, dim3(static_cast<unsigned>(blocks)), dim3(256), 0,
                       k, v, n_tokens, row, positions, keys, values);
}

}  // namespace hearth::cuda
