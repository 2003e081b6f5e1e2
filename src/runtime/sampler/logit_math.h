// Whole-vocabulary loops of the sampler, written so GCC and clang vectorise them without
// -ffast-math: reductions keep independent lanes (no reassociation needed), and exp is
// branch-free (glibc's expf is a call per element).
//
// exp_nonpositive: Range reduction x = n ln2 + y with
// |y| <= ln2/2 (Cody-Waite: ln2 split in two constants so n*ln2 is exact enough), e^y from a
// degree-7 Taylor polynomial (truncation error < 1e-8), 2^n assembled in the exponent bits.
// Relative error is within a few float ulps for x in [-87, 0]; smaller x (including -inf)
// gives +0.
#pragma once

#include <bit>
#include <cstdint>
#include <span>

namespace hearth {

inline float exp_nonpositive(float x) {
  // Selects are integer masks: a float select would need GCC to speculate possibly trapping
  // arithmetic, which it refuses under the default -ftrapping-math, and the loop would not
  // vectorise.
  const bool in_range = x > -87.0f;  // false for -inf and NaN
  const uint32_t keep = 0u - static_cast<uint32_t>(in_range);
  const float clamped = std::bit_cast<float>((std::bit_cast<uint32_t>(x) & keep) |
                                             (std::bit_cast<uint32_t>(-87.0f) & ~keep));
  const float t = clamped * 1.44269504088896341f;
  // Round to nearest with the 1.5 * 2^23 trick (valid for |t| < 2^22; no SSE4.1 needed).
  const float n = (t + 12582912.0f) - 12582912.0f;
  const float y = (clamped - n * 0.693359375f) + n * 2.12194440e-4f;  // |y| <= 0.347
  float p = 1.0f / 5040.0f;
  p = p * y + 1.0f / 720.0f;
  p = p * y + 1.0f / 120.0f;
  p = p * y + 1.0f / 24.0f;
  p = p * y + 1.0f / 6.0f;
  p = p * y + 0.5f;
  p = p * y + 1.0f;
  p = p * y + 1.0f;
  const auto exponent = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  const float result = p * std::bit_cast<float>(exponent);
  return std::bit_cast<float>(std::bit_cast<uint32_t>(result) & keep);
}

// The maximum (-inf for an empty span). Input must be NaN-free (validated first).
float max_of(std::span<const float> values);
// The sum, accumulated in double.
double sum_of(std::span<const float> values);
// True when some value is NaN or +inf (-inf is a legitimate "never" logit).
bool has_nan_or_pos_inf(std::span<const float> values);

}  // namespace hearth
