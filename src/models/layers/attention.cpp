#include "models/layers/attention.h"

#include <cmath>

namespace hearth {
namespace {

// [T, heads * head_dim] viewed as [T, heads, head_dim].
TensorView split_heads(const TensorView& x, int64_t heads, int64_t head_dim) {
  return TensorView(x.data(), x.dtype(), Shape{x.shape()[0], heads, head_dim});
}

}  // namespace

GqaAttention::GqaAttention(Linear q, Linear k, Linear v, Linear o, const AttentionShape& shape,
                           const RopeSpec* rope)
    : q_(q),
      k_(k),
      v_(v),
      o_(o),
      shape_(shape),
      rope_(rope),
      scale_(static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.head_dim)))) {}

Status GqaAttention::forward(Backend& backend, const TensorView& x,
                             std::span<const int32_t> positions, KvCache& cache, int64_t layer,
                             const AttentionBuffers& buffers, const TensorView& out) const {
  const auto n_tokens = static_cast<int64_t>(positions.size());
  if (n_tokens == 0) return {};
  // q, k and v share their input: one fused op (one quantization of x, one parallel region).
  const MatmulTarget projections[] = {{&q_.weight(), q_.bias_or_null(), buffers.q},
                                      {&k_.weight(), k_.bias_or_null(), buffers.k},
                                      {&v_.weight(), v_.bias_or_null(), buffers.v}};
  HEARTH_RETURN_IF_ERROR(backend.matmul_shared_input(x, projections));

  const TensorView q = split_heads(buffers.q, shape_.n_heads, shape_.head_dim);
  const TensorView k = split_heads(buffers.k, shape_.n_kv_heads, shape_.head_dim);
  const TensorView v = split_heads(buffers.v, shape_.n_kv_heads, shape_.head_dim);
  HEARTH_RETURN_IF_ERROR(backend.rope(q, positions, *rope_));
  HEARTH_RETURN_IF_ERROR(backend.rope(k, positions, *rope_));

  // The whole layer's K/V: the positions, not the views' length, say where the new keys go and
  // how far each query looks, so a step's op calls do not depend on the position (a backend can
  // record one decode step and replay it for every token).
  HEARTH_ASSIGN_OR_RETURN(const KvViews layer_kv, cache.prefix(layer, cache.capacity()));
  HEARTH_RETURN_IF_ERROR(backend.store_kv(k, v, positions, layer_kv.keys, layer_kv.values));

  const TensorView context = split_heads(buffers.context, shape_.n_heads, shape_.head_dim);
  HEARTH_RETURN_IF_ERROR(
      backend.attention(q, layer_kv.keys, layer_kv.values, positions, scale_, context));
  return o_.forward(backend, buffers.context, out);
}

}  // namespace hearth
