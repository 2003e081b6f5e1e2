// Choosing the next token on the device, so only its id is copied back: argmax for greedy
// decoding; for sampling, exact top-k and top-p thresholds by radix selection on the logits'
// order-preserving bit patterns (4 passes of 8 bits, counting tokens for top-k and summing
// probability for top-p), then one draw walking the kept tokens in id order. The kept set is
// {logit >= threshold}, as in pick_token_on_host. Every step is a launch on the stream; none
// waits for the host.
#include "backend/cuda/kernels/device_common.cuh"
#include "backend/cuda/kernels/kernels.h"

#include <algorithm>
#include <cmath>

namespace hearth::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 128;

struct PickState {
  float max_logit;
  int argmax;
  unsigned done_blocks;
  uint32_t prefix, mask;  // radix selection: bits decided so far
  float remaining;        // tokens (top-k) or mass (top-p) still to place below the prefix
  uint32_t threshold;     // kept: key >= threshold
  float mass_total;
  unsigned count_hist[256];
  float mass_hist[256];
  float block_max[kMaxBlocks];
  int block_arg[kMaxBlocks];
  float block_sum[kMaxBlocks];
};

__device__ __forceinline__ uint32_t order_key(float f) {
  const uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

struct Range {
  int64_t begin, end;
};
__device__ __forceinline__ Range block_range(int64_t vocab) {
  const int64_t chunk = (vocab + gridDim.x - 1) / gridDim.x;
  const int64_t b = blockIdx.x * chunk;
  return {b, min(vocab, b + chunk)};
}

// Per-block max (lowest id among equals); the last block finishes and resets the state.
__global__ void max_kernel(const float* logits, int64_t vocab, PickState* st, int32_t* out) {
  __shared__ float sv[kThreads];
  __shared__ int si[kThreads];
  __shared__ bool last;
  allow_next_kernel();
  wait_for_previous_kernel();
  const Range r = block_range(vocab);
  float best = -INFINITY;
  int arg = static_cast<int>(r.begin);
  for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kThreads) {
    const float v = logits[i];
    if (v > best) {
      best = v;
      arg = static_cast<int>(i);
    }
  }
  sv[threadIdx.x] = best;
  si[threadIdx.x] = arg;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      const float ov = sv[threadIdx.x + s];
      const int oi = si[threadIdx.x + s];
      if (ov > sv[threadIdx.x] || (ov == sv[threadIdx.x] && oi < si[threadIdx.x])) {
        sv[threadIdx.x] = ov;
        si[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    st->block_max[blockIdx.x] = sv[0];
    st->block_arg[blockIdx.x] = si[0];
    __threadfence();
    last = atomicAdd(&st->done_blocks, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!last) return;
  for (int i = threadIdx.x; i < 256; i += kThreads) {  // the last block resets the state
    st->count_hist[i] = 0;
    st->mass_hist[i] = 0.0f;
  }
  if (threadIdx.x != 0) return;
  __threadfence();
  float m = -INFINITY;
  int a = 0;
  for (unsigned b = 0; b < gridDim.x; ++b) {
    const float v = __ldcg(&st->block_max[b]);
    const int i = __ldcg(&st->block_arg[b]);
    if (v > m || (v == m && i < a)) {
      m = v;
      a = i;
    }
  }
  st->max_logit = m;
  st->argmax = a;
  st->done_blocks = 0;
  st->prefix = 0;
  st->mask = 0;
  st->threshold = 0;
  st->mass_total = 0.0f;
  *out = a;
}

__device__ __forceinline__ float weight_of(float logit, const PickState* st, float inv_temp) {
  return __expf((logit - st->max_logit) * inv_temp);
}

// One radix pass: histogram (count or probability mass) of the 8-bit digit at `shift` among
// tokens whose key matches the prefix and passes the current threshold.
template <bool kMass>
__global__ void radix_hist_kernel(const float* logits, int64_t vocab, PickState* st, int shift,
                                  float inv_temp) {
  __shared__ float hist[256];
  allow_next_kernel();
  wait_for_previous_kernel();
  for (int i = threadIdx.x; i < 256; i += kThreads) hist[i] = 0.0f;
  __syncthreads();
  const Range r = block_range(vocab);
  const uint32_t prefix = st->prefix, mask = st->mask, threshold = st->threshold;
  for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kThreads) {
    const float v = logits[i];
    const uint32_t key = order_key(v);
    if ((key & mask) != prefix || key < threshold) continue;
    atomicAdd(&hist[(key >> shift) & 255u], kMass ? weight_of(v, st, inv_temp) : 1.0f);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < 256; i += kThreads) {
    if (hist[i] == 0.0f) continue;
    if (kMass) {
      atomicAdd(&st->mass_hist[i], hist[i]);
    } else {
      atomicAdd(&st->count_hist[i], static_cast<unsigned>(hist[i]));
    }
  }
}

// Picks the digit where the running total from the top reaches `remaining`, narrows the prefix,
// clears the histogram. After the last pass the prefix is the threshold key.
template <bool kMass>
__global__ void radix_select_kernel(PickState* st, int shift, bool last_pass) {
  allow_next_kernel();
  wait_for_previous_kernel();
  if (threadIdx.x != 0) return;
  float above = 0.0f;
  int digit = 0;
  for (int d = 255; d >= 0; --d) {
    const float h = kMass ? st->mass_hist[d] : static_cast<float>(st->count_hist[d]);
    if (above + h >= st->remaining) {
      digit = d;
      break;
    }
    above += h;
  }
  st->remaining -= above;
  st->prefix |= static_cast<uint32_t>(digit) << shift;
  st->mask |= 255u << shift;
  for (int d = 0; d < 256; ++d) {
    st->count_hist[d] = 0;
    st->mass_hist[d] = 0.0f;
  }
  if (last_pass) {
    st->threshold = max(st->threshold, st->prefix);
    st->prefix = 0;
    st->mask = 0;
  }
}

__global__ void set_remaining_kernel(PickState* st, float count, bool from_mass, float top_p) {
  allow_next_kernel();
  wait_for_previous_kernel();
  if (threadIdx.x == 0) st->remaining = from_mass ? top_p * st->mass_total : count;
}

// Probability mass of kept tokens per block (contiguous id ranges), and their total.
__global__ void kept_mass_kernel(const float* logits, int64_t vocab, PickState* st, float inv_temp,
                                 bool accumulate_total) {
  __shared__ float scratch[32];
  allow_next_kernel();
  wait_for_previous_kernel();
  const Range r = block_range(vocab);
  const uint32_t threshold = st->threshold;
  float s = 0.0f;
  for (int64_t i = r.begin + threadIdx.x; i < r.end; i += kThreads) {
    const float v = logits[i];
    if (order_key(v) >= threshold) s += weight_of(v, st, inv_temp);
  }
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) {
    st->block_sum[blockIdx.x] = s;
    if (accumulate_total) atomicAdd(&st->mass_total, s);
  }
}

// One block: find the block whose cumulative kept mass passes uniform * total, then the token.
__global__ void draw_kernel(const float* logits, int64_t vocab, PickState* st, float inv_temp,
                            float uniform, int n_blocks, int32_t* out) {
  __shared__ float prefix_sums[kThreads + 1];
  __shared__ int chosen_block;
  __shared__ float before_block;
  __shared__ int found;
  allow_next_kernel();
  wait_for_previous_kernel();
  if (threadIdx.x == 0) {
    float total = 0.0f;
    for (int b = 0; b < n_blocks; ++b) total += st->block_sum[b];
    const float target = uniform * total;
    float run = 0.0f;
    chosen_block = -1;
    for (int b = 0; b < n_blocks; ++b) {
      if (st->block_sum[b] > 0.0f) chosen_block = b;  // the last block with mass, if rounding
      if (run + st->block_sum[b] > target && st->block_sum[b] > 0.0f) {
        chosen_block = b;
        break;
      }
      run += st->block_sum[b];
    }
    before_block = run;
    prefix_sums[kThreads] = target;
    found = -1;
  }
  __syncthreads();
  const int b = chosen_block;
  const int64_t chunk = (vocab + n_blocks - 1) / n_blocks;
  const int64_t begin = int64_t{b} * chunk, end = min(vocab, begin + chunk);
  const int64_t per = (end - begin + kThreads - 1) / kThreads;
  const int64_t my_begin = begin + threadIdx.x * per, my_end = min(end, my_begin + per);
  const uint32_t threshold = st->threshold;
  float mine = 0.0f;
  for (int64_t i = my_begin; i < my_end; ++i) {
    if (order_key(logits[i]) >= threshold) mine += weight_of(logits[i], st, inv_temp);
  }
  prefix_sums[threadIdx.x] = mine;
  __syncthreads();
  if (threadIdx.x == 0) {
    float run = before_block;
    const float target = prefix_sums[kThreads];
    int owner = -1, last_with_mass = -1;
    for (int t = 0; t < kThreads; ++t) {
      if (prefix_sums[t] > 0.0f) last_with_mass = t;
      if (owner < 0 && prefix_sums[t] > 0.0f && run + prefix_sums[t] > target) owner = t;
      if (owner < 0) run += prefix_sums[t];
    }
    if (owner < 0) owner = last_with_mass;
    prefix_sums[kThreads] = target - run;  // what remains inside the owner's range
    found = owner;
  }
  __syncthreads();
  if (static_cast<int>(threadIdx.x) != found) return;
  const float target = prefix_sums[kThreads];
  float run = 0.0f;
  int32_t token = -1;
  for (int64_t i = my_begin; i < my_end; ++i) {
    if (order_key(logits[i]) < threshold) continue;
    token = static_cast<int32_t>(i);
    run += weight_of(logits[i], st, inv_temp);
    if (run > target) break;
  }
  *out = token;
}

int blocks_for(int64_t vocab) {
  return static_cast<int>(
      std::clamp<int64_t>((vocab + kThreads * 8 - 1) / (kThreads * 8), 1, kMaxBlocks));
}

}  // namespace

size_t pick_scratch_bytes(int64_t vocab) {
  (void)vocab;
  return sizeof(PickState);
}

cudaError_t pick_token(const LaunchContext& ctx, const float* logits, int64_t vocab,
                       const PickParams& p, void* scratch, int32_t* out_token) {
  auto* st = static_cast<PickState*>(scratch);
  const int nb = blocks_for(vocab);
  const dim3 grid(static_cast<unsigned>(nb)), block(kThreads), one(1);
  cudaError_t e = launch_kernel(ctx, max_kernel, grid, block, 0, logits, vocab, st, out_token);
  if (e != cudaSuccess || p.temperature <= 0.0f) return e;
  const float inv_temp = 1.0f / p.temperature;
  if (p.top_k > 0 && p.top_k < vocab) {
    e = launch_kernel(ctx, set_remaining_kernel, one, one, 0, st, static_cast<float>(p.top_k),
                      false, 1.0f);
    for (int pass = 0; pass < 4 && e == cudaSuccess; ++pass) {
      const int shift = 24 - 8 * pass;
      e = launch_kernel(ctx, radix_hist_kernel<false>, grid, block, 0, logits, vocab, st, shift,
                        inv_temp);
      if (e == cudaSuccess) {
        e = launch_kernel(ctx, radix_select_kernel<false>, one, one, 0, st, shift, pass == 3);
      }
    }
  }
  if (e == cudaSuccess && p.top_p < 1.0f) {
    e = launch_kernel(ctx, kept_mass_kernel, grid, block, 0, logits, vocab, st, inv_temp, true);
    if (e == cudaSuccess) {
      e = launch_kernel(ctx, set_remaining_kernel, one, one, 0, st, 0.0f, true, p.top_p);
    }
    for (int pass = 0; pass < 4 && e == cudaSuccess; ++pass) {
      const int shift = 24 - 8 * pass;
      e = launch_kernel(ctx, radix_hist_kernel<true>, grid, block, 0, logits, vocab, st, shift,
                        inv_temp);
      if (e == cudaSuccess) {
        e = launch_kernel(ctx, radix_select_kernel<true>, one, one, 0, st, shift, pass == 3);
      }
    }
  }
  if (e == cudaSuccess) {
    e = launch_kernel(ctx, kept_mass_kernel, grid, block, 0, logits, vocab, st, inv_temp, false);
  }
  if (e == cudaSuccess) {
    e = launch_kernel(ctx, draw_kernel, one, block, 0, logits, vocab, st, inv_temp, p.uniform, nb,
                      out_token);
  }
  return e;
}

}  // namespace hearth::cuda
