#include "models/layers/rope.h"

#include <cmath>
#include <numbers>
#include <string>

namespace hearth {
namespace {

bool positive_finite(double v) {
  return std::isfinite(v) && v > 0;
}

// Transformers' _compute_llama3_parameters, one frequency at a time.
double llama3_scale(double inv_freq, const RopeScaling& s) {
  const double low_freq_wavelen = s.original_context_length / s.low_freq_factor;
  const double high_freq_wavelen = s.original_context_length / s.high_freq_factor;
  const double wavelen = 2 * std::numbers::pi / inv_freq;
  if (wavelen < high_freq_wavelen) return inv_freq;
  if (wavelen > low_freq_wavelen) return inv_freq / s.factor;
  const double smooth = (s.original_context_length / wavelen - s.low_freq_factor) /
                        (s.high_freq_factor - s.low_freq_factor);
  return (1 - smooth) * inv_freq / s.factor + smooth * inv_freq;
}

}  // namespace

Expected<RopeSpec> make_rope_spec(const RopeConfig& c) {
  if (c.rotary_dim <= 0 || c.rotary_dim % 2 != 0 || c.rotary_dim > c.head_dim) {
    return invalid_argument("rope dimension " + std::to_string(c.rotary_dim) +
                            " must be even, positive and at most the head dimension " +
                            std::to_string(c.head_dim));
  }
  if (!positive_finite(c.freq_base)) {
    return invalid_argument("rope frequency base " + std::to_string(c.freq_base) +
                            " must be a finite number above 0");
  }
  const RopeScaling& s = c.scaling;
  if (s.type != RopeScaling::Type::kNone && !positive_finite(s.factor)) {
    return invalid_argument("rope scaling factor " + std::to_string(s.factor) +
                            " must be a finite number above 0");
  }
  if (s.type == RopeScaling::Type::kLlama3 &&
      (!positive_finite(s.low_freq_factor) || !positive_finite(s.high_freq_factor) ||
       !(s.high_freq_factor > s.low_freq_factor) || !positive_finite(s.original_context_length))) {
    return invalid_argument("llama3 rope scaling needs 0 < low_freq_factor (" +
                            std::to_string(s.low_freq_factor) + ") < high_freq_factor (" +
                            std::to_string(s.high_freq_factor) +
                            ") and a positive original context length (" +
                            std::to_string(s.original_context_length) + ")");
  }
  const int64_t half = c.rotary_dim / 2;
  if (!c.freq_factors.empty() && static_cast<int64_t>(c.freq_factors.size()) != half) {
    return invalid_argument("rope_freqs has " + std::to_string(c.freq_factors.size()) +
                            " factors; the rope dimension " + std::to_string(c.rotary_dim) +
                            " needs " + std::to_string(half));
  }

  RopeSpec spec;
  spec.layout = c.layout;
  spec.rotary_dim = c.rotary_dim;
  spec.inv_freq.resize(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    double f =
        std::pow(c.freq_base, -static_cast<double>(2 * i) / static_cast<double>(c.rotary_dim));
    switch (s.type) {
      case RopeScaling::Type::kNone:
        break;
      case RopeScaling::Type::kLinear:
        f /= s.factor;
        break;
      case RopeScaling::Type::kLlama3:
        f = llama3_scale(f, s);
        break;
    }
    if (!c.freq_factors.empty()) {
      const double factor = c.freq_factors[static_cast<size_t>(i)];
      if (!positive_finite(factor)) {
        return invalid_argument("rope_freqs factor " + std::to_string(i) + " is " +
                                std::to_string(factor) + "; it must be a finite number above 0");
      }
      f /= factor;
    }
    spec.inv_freq[static_cast<size_t>(i)] = f;
  }
  return spec;
}

}  // namespace hearth
