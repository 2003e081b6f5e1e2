// Reference causal grouped-query attention over a sequence's cached keys and values.
#pragma once

#include <cstdint>
#include <span>

#include "core/thread_pool.h"
#include "hearth/status.h"

namespace hearth::reference {

struct AttentionDims {
  int64_t n_heads = 0;     // query heads
  int64_t n_kv_heads = 0;  // key/value heads; n_heads is a multiple, query head h reads kv head
                           // h / (n_heads / n_kv_heads)
  int64_t head_dim = 0;
};

// Floats of scratch attention() needs for `n_keys` cached positions: one score row per thread.
int64_t attention_scratch_floats(int64_t n_keys, int n_threads);

// out[t, h] = sum_j softmax_j(scale * q[t, h] . k[j, kvh]) v[j, kvh] over j = 0..positions[t],
// for q[n_tokens, n_heads, head_dim] and k, v[n_keys, n_kv_heads, head_dim] (position j in row
// j). Work is split over (token, head) pairs. InvalidArgument when a position is outside
// [0, n_keys), the dims are inconsistent, or scratch is too small.
Status attention(const float* q, int64_t n_tokens, const float* k, const float* v, int64_t n_keys,
                 const AttentionDims& dims, const int32_t* positions, float scale, float* out,
                 std::span<float> scratch, ThreadPool* pool);

}  // namespace hearth::reference
