#include "backend/reference/rope.h"

#include <cmath>
#include <string>

namespace hearth::reference {

Status rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* positions,
            const RopeSpec& spec) {
  const int64_t half = spec.rotary_dim / 2;
  if (spec.rotary_dim < 0 || spec.rotary_dim % 2 != 0 || spec.rotary_dim > head_dim ||
      static_cast<int64_t>(spec.inv_freq.size()) != half) {
    return invalid_argument("rope: rotary_dim " + std::to_string(spec.rotary_dim) + " with " +
                            std::to_string(spec.inv_freq.size()) +
                            " frequencies does not fit head_dim " + std::to_string(head_dim));
  }
  for (int64_t t = 0; t < n_tokens; ++t) {
    if (positions[t] < 0) {
      return invalid_argument("rope: negative position " + std::to_string(positions[t]));
    }
    for (int64_t i = 0; i < half; ++i) {
      const double angle =
          static_cast<double>(positions[t]) * spec.inv_freq[static_cast<size_t>(i)];
      const double c = std::cos(angle);
      const double s = std::sin(angle);
      // Element indices of pair i within a head.
      const int64_t i0 = spec.layout == RopeLayout::kAdjacentPairs ? 2 * i : i;
      const int64_t i1 = spec.layout == RopeLayout::kAdjacentPairs ? 2 * i + 1 : i + half;
      for (int64_t h = 0; h < n_heads; ++h) {
        float* head = x + (t * n_heads + h) * head_dim;
        const double x0 = head[i0];
        const double x1 = head[i1];
        head[i0] = static_cast<float>(x0 * c - x1 * s);
        head[i1] = static_cast<float>(x0 * s + x1 * c);
      }
    }
  }
  return {};
}

}  // namespace hearth::reference
