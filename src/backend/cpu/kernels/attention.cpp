#include "backend/cpu/kernels/attention.h"

#include <algorithm>
#include <atomic>
#include <string>

namespace hearth::cpu {

Status AttentionDriver::reserve(int64_t max_floats) {
  if (max_floats <= scratch_floats_) return {};
  HEARTH_ASSIGN_OR_RETURN(
      scratch_, AlignedBuffer::allocate(static_cast<size_t>(max_floats) *
                                        static_cast<size_t>(pool_.size()) * sizeof(float)));
  scratch_floats_ = max_floats;
  return {};
}

Status AttentionDriver::run(const float* q, const float* k, const float* v, const AttentionShape& s,
                            const int32_t* positions, float scale, float* out) {
  if (s.n_heads <= 0 || s.n_kv_heads <= 0 || s.head_dim <= 0 || s.n_heads % s.n_kv_heads != 0) {
    return invalid_argument("attention: " + std::to_string(s.n_heads) +
                            " query heads cannot share " + std::to_string(s.n_kv_heads) +
                            " kv heads of dim " + std::to_string(s.head_dim));
  }
  for (int64_t t = 0; t < s.n_tokens; ++t) {
    if (positions[t] < 0 || positions[t] >= s.n_keys) {
      return invalid_argument("attention: position " + std::to_string(positions[t]) + " of token " +
                              std::to_string(t) + " is outside the " + std::to_string(s.n_keys) +
                              " cached positions");
    }
  }
  const int64_t group = s.n_heads / s.n_kv_heads;
  HEARTH_RETURN_IF_ERROR(reserve(attention_scratch_floats(group, s.head_dim)));
  const int64_t hd = s.head_dim;
  const int64_t kv_row = s.n_kv_heads * hd;  // floats per cached position
  // One item is one token's query heads of one kv head (they share every key and value row).
  const int64_t items = s.n_tokens * s.n_kv_heads;
  const auto one = [&](int64_t item, float* scratch) {
    const int64_t t = item / s.n_kv_heads;
    const int64_t kvh = item % s.n_kv_heads;
    const int64_t first_head = t * s.n_heads + kvh * group;
    kernels_.attention_group(q + first_head * hd, group, k + kvh * hd, v + kvh * hd,
                             int64_t{positions[t]} + 1, kv_row, hd, scale, out + first_head * hd,
                             scratch);
  };
  if (items == 1 || pool_.size() == 1) {
    for (int64_t i = 0; i < items; ++i) one(i, scratch_.as<float>());
    return {};
  }
  std::atomic<int64_t> next{0};
  pool_.run_dynamic([&](int thread, int) {
    float* scratch = scratch_.as<float>() + thread * scratch_floats_;
    for (int64_t i = next.fetch_add(1, std::memory_order_relaxed); i < items;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      one(i, scratch);
    }
  });
  return {};
}

}  // namespace hearth::cpu
