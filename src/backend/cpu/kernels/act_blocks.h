// Activation rows quantized to 8 bits per element, the partner format of the integer dot
// products: a weight row in a block format is multiplied by the activation row quantized with
// the same block length, so the inner loop is int8 x intN -> int32 and each weight byte is read
// once. Internal to the CPU backend (never stored), so scales are f32 rather than fp16.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hearth::cpu {

inline constexpr int kAct32 = 32;
inline constexpr int kAct256 = 256;

// For Q4_0, Q4_1, Q5_0, Q5_1 weights: a row of k = 32 * nb activations, x ~= d_i * qs over block
// i, stored as structure of arrays so a kernel loads the scales of several blocks at once:
//   float scales[2 * nb]: (d_i, d_i * sum(qs of block i)) pairs -- the second is the term an
//                         offset or min of the weight block multiplies
//   int8  qs[32 * nb]
struct ActRowQ8x32 {
  const float* scales;
  const int8_t* qs;
};
static inline size_t act_row_q8x32_bytes(int64_t k) {
  return static_cast<size_t>(k / kAct32) * (2 * sizeof(float) + kAct32);
}
static inline ActRowQ8x32 act_row_q8x32(const void* row, int64_t k) {
  const auto* scales = static_cast<const float*>(row);
  return {scales, reinterpret_cast<const int8_t*>(scales + 2 * (k / kAct32))};
}

// For the K-quants (256-element super-blocks): x ~= d * qs over 256 elements.
struct ActQ8x256 {
  float d;
  int16_t bsums[kAct256 / 16];  // sum(qs) of each 16 elements, for the mins / offsets
  int8_t qs[kAct256];
};

static_assert(sizeof(ActQ8x256) == 292);
static_assert(offsetof(ActQ8x256, qs) == 36);

}  // namespace hearth::cpu
