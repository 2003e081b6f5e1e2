#include "backend/reference/attention.h"

#include <string>

#include "backend/reference/dot.h"
#include "backend/reference/softmax.h"

namespace hearth::reference {

int64_t attention_scratch_floats(int64_t n_keys, int n_threads) {
  return n_keys * static_cast<int64_t>(n_threads < 1 ? 1 : n_threads);
}

Status attention(const float* q, int64_t n_tokens, const float* k, const float* v, int64_t n_keys,
                 const AttentionDims& dims, const int32_t* positions, float scale, float* out,
                 std::span<float> scratch, ThreadPool* pool) {
  if (dims.n_heads <= 0 || dims.n_kv_heads <= 0 || dims.head_dim <= 0 ||
      dims.n_heads % dims.n_kv_heads != 0) {
    return invalid_argument("attention: " + std::to_string(dims.n_heads) +
                            " query heads cannot share " + std::to_string(dims.n_kv_heads) +
                            " kv heads of dim " + std::to_string(dims.head_dim));
  }
  for (int64_t t = 0; t < n_tokens; ++t) {
    if (positions[t] < 0 || positions[t] >= n_keys) {
      return invalid_argument("attention: position " + std::to_string(positions[t]) + " of token " +
                              std::to_string(t) + " is outside the " + std::to_string(n_keys) +
                              " cached positions");
    }
  }
  const int n_threads = pool ? pool->size() : 1;
  if (static_cast<int64_t>(scratch.size()) < attention_scratch_floats(n_keys, n_threads)) {
    return invalid_argument("attention scratch holds " + std::to_string(scratch.size()) +
                            " floats, needs " +
                            std::to_string(attention_scratch_floats(n_keys, n_threads)));
  }

  const int64_t group = dims.n_heads / dims.n_kv_heads;
  const int64_t hd = dims.head_dim;
  const int64_t kv_row = dims.n_kv_heads * hd;  // floats per cached position
  const int64_t work_items = n_tokens * dims.n_heads;
  auto work = [&](int thread, int threads) {
    float* scores = scratch.data() + static_cast<int64_t>(thread) * n_keys;
    for (int64_t item = work_items * thread / threads; item < work_items * (thread + 1) / threads;
         ++item) {
      const int64_t t = item / dims.n_heads;
      const int64_t h = item % dims.n_heads;
      const int64_t kvh = h / group;
      const float* qh = q + item * hd;
      const int64_t n_visible = int64_t{positions[t]} + 1;
      for (int64_t j = 0; j < n_visible; ++j) {
        scores[j] = scale * dot_f32(qh, k + j * kv_row + kvh * hd, hd);
      }
      softmax(scores, n_visible);
      float* oh = out + item * hd;
      for (int64_t d = 0; d < hd; ++d) oh[d] = 0.0f;
      for (int64_t j = 0; j < n_visible; ++j) {
        const float* vj = v + j * kv_row + kvh * hd;
        for (int64_t d = 0; d < hd; ++d) oh[d] += scores[j] * vj[d];
      }
    }
  };
  if (pool) {
    pool->run(work);
  } else {
    work(0, 1);
  }
  return {};
}

}  // namespace hearth::reference
