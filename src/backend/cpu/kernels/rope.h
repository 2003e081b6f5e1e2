// Rotary position embedding with the angles' cosines and sines computed once per (position,
// pair) in double and reused: a forward pass rotates q and k of every layer at the same
// positions, so the table is rebuilt only when the positions or the spec change.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/rope_spec.h"
#include "core/thread_pool.h"
#include "hearth/status.h"

namespace hearth::cpu {

class RopeRunner {
 public:
  // Room for `max_tokens` positions of up to `max_pairs` frequency pairs (a later larger call
  // grows it once).
  void reserve(int64_t max_tokens, int64_t max_pairs);

  // Rotates x[T, n_heads, head_dim] in place; T = positions.size(). InvalidArgument on a
  // negative position or a spec that does not fit head_dim.
  Status apply(float* x, int64_t n_heads, int64_t head_dim, std::span<const int32_t> positions,
               const RopeSpec& spec, ThreadPool& pool);

 private:
  bool table_matches(std::span<const int32_t> positions, const RopeSpec& spec) const;
  void build_table(std::span<const int32_t> positions, const RopeSpec& spec);

  std::vector<float> cos_;  // [T, pairs]
  std::vector<float> sin_;  // [T, pairs]
  std::vector<int32_t> positions_;
  std::vector<double> inv_freq_;
  bool valid_ = false;
};

}  // namespace hearth::cpu
