#include "backend/cpu/kernels/rope.h"

#include <cmath>
#include <string>

namespace hearth::cpu {

void RopeRunner::reserve(int64_t max_tokens, int64_t max_pairs) {
  if (max_tokens <= 0 || max_pairs <= 0) return;
  const auto n = static_cast<size_t>(max_tokens * max_pairs);
  if (cos_.capacity() < n) cos_.reserve(n);
  if (sin_.capacity() < n) sin_.reserve(n);
  if (positions_.capacity() < static_cast<size_t>(max_tokens)) {
    positions_.reserve(static_cast<size_t>(max_tokens));
  }
  if (inv_freq_.capacity() < static_cast<size_t>(max_pairs)) {
    inv_freq_.reserve(static_cast<size_t>(max_pairs));
  }
}

bool RopeRunner::table_matches(std::span<const int32_t> positions, const RopeSpec& spec) const {
  if (!valid_ || positions.size() != positions_.size() ||
      spec.inv_freq.size() != inv_freq_.size()) {
    return false;
  }
  for (size_t i = 0; i < positions.size(); ++i) {
    if (positions[i] != positions_[i]) return false;
  }
  for (size_t i = 0; i < inv_freq_.size(); ++i) {
    if (spec.inv_freq[i] != inv_freq_[i]) return false;
  }
  return true;
}

void RopeRunner::build_table(std::span<const int32_t> positions, const RopeSpec& spec) {
  const size_t pairs = spec.inv_freq.size();
  positions_.assign(positions.begin(), positions.end());
  inv_freq_.assign(spec.inv_freq.begin(), spec.inv_freq.end());
  cos_.resize(positions.size() * pairs);
  sin_.resize(positions.size() * pairs);
  for (size_t t = 0; t < positions.size(); ++t) {
    for (size_t i = 0; i < pairs; ++i) {
      const double angle = static_cast<double>(positions[t]) * spec.inv_freq[i];
      cos_[t * pairs + i] = static_cast<float>(std::cos(angle));
      sin_[t * pairs + i] = static_cast<float>(std::sin(angle));
    }
  }
  valid_ = true;
}

Status RopeRunner::apply(float* x, int64_t n_heads, int64_t head_dim,
                         std::span<const int32_t> positions, const RopeSpec& spec,
                         ThreadPool& pool) {
  const int64_t half = spec.rotary_dim / 2;
  if (spec.rotary_dim < 0 || spec.rotary_dim % 2 != 0 || spec.rotary_dim > head_dim ||
      static_cast<int64_t>(spec.inv_freq.size()) != half) {
    return invalid_argument("rope: rotary_dim " + std::to_string(spec.rotary_dim) + " with " +
                            std::to_string(spec.inv_freq.size()) +
                            " frequencies does not fit head_dim " + std::to_string(head_dim));
  }
  for (size_t t = 0; t < positions.size(); ++t) {
    if (positions[t] < 0) {
      return invalid_argument("rope: negative position " + std::to_string(positions[t]));
    }
  }
  if (!table_matches(positions, spec)) build_table(positions, spec);
  const bool adjacent = spec.layout == RopeLayout::kAdjacentPairs;
  const auto rotate_tokens = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* c = cos_.data() + t * half;
      const float* s = sin_.data() + t * half;
      for (int64_t h = 0; h < n_heads; ++h) {
        float* head = x + (t * n_heads + h) * head_dim;
        if (adjacent) {
          for (int64_t i = 0; i < half; ++i) {
            const float x0 = head[2 * i], x1 = head[2 * i + 1];
            head[2 * i] = x0 * c[i] - x1 * s[i];
            head[2 * i + 1] = x0 * s[i] + x1 * c[i];
          }
        } else {
          for (int64_t i = 0; i < half; ++i) {
            const float x0 = head[i], x1 = head[i + half];
            head[i] = x0 * c[i] - x1 * s[i];
            head[i + half] = x0 * s[i] + x1 * c[i];
          }
        }
      }
    }
  };
  const auto n_tokens = static_cast<int64_t>(positions.size());
  if (n_tokens >= 16) {
    pool.parallel_for(n_tokens, 4, rotate_tokens);
  } else {
    rotate_tokens(0, n_tokens);
  }
  return {};
}

}  // namespace hearth::cpu
