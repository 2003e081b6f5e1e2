// Grouped-query self-attention with rotary positions over a sequence's KV cache.
#pragma once

#include <cstdint>
#include <span>

#include "backend/backend.h"
#include "models/layers/linear.h"
#include "runtime/kv/kv_cache.h"

namespace hearth {

struct AttentionShape {
  int64_t n_heads = 0;     // query heads
  int64_t n_kv_heads = 0;  // key/value heads (n_heads is a multiple)
  int64_t head_dim = 0;
};

// Activation buffers for T tokens, owned by the model and reused by every layer.
struct AttentionBuffers {
  TensorView q;        // [T, n_heads * head_dim]
  TensorView k;        // [T, n_kv_heads * head_dim]
  TensorView v;        // [T, n_kv_heads * head_dim]
  TensorView context;  // [T, n_heads * head_dim]
};

class GqaAttention {
 public:
  GqaAttention() = default;
  // Projections: q [n_heads*head_dim, d], k and v [n_kv_heads*head_dim, d], o [d,
  // n_heads*head_dim]; `rope` must outlive the layer.
  GqaAttention(Linear q, Linear k, Linear v, Linear o, const AttentionShape& shape,
               const RopeSpec* rope);

  // x [T, d] of tokens at consecutive positions starting at positions[0] -> out [T, d].
  // Writes their keys and values into layer `layer` of `cache` and attends causally over
  // positions [0, positions[T-1]]. The caller commits the cache after the last layer.
  Status forward(Backend& backend, const TensorView& x, std::span<const int32_t> positions,
                 KvCache& cache, int64_t layer, const AttentionBuffers& buffers,
                 const TensorView& out) const;

 private:
  Linear q_, k_, v_, o_;
  AttentionShape shape_;
  const RopeSpec* rope_ = nullptr;
  float scale_ = 1.0f;  // 1 / sqrt(head_dim)
};

}  // namespace hearth
