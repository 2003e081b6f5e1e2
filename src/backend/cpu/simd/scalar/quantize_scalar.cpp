#include <cmath>
#include <cstring>

#include "backend/cpu/kernels/act_blocks.h"
#include "backend/cpu/simd/scalar/scalar_kernels.h"

namespace hearth::cpu::scalar {
namespace {

// q = round-to-nearest-even(x / d) with d = max|x| / 127, as the SIMD versions compute it
// (multiply by the reciprocal, then round); NaN maps to 0 instead of an undefined conversion.
int8_t quantize_one(float x, float inv_d) {
  const float v = std::nearbyint(x * inv_d);
  if (!(v == v)) return 0;
  if (v > 127.0f) return 127;
  if (v < -127.0f) return -127;
  return static_cast<int8_t>(v);
}

float block_scale(const float* x, int n, float& inv_d) {
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  inv_d = d != 0.0f ? 1.0f / d : 0.0f;
  return d;
}

}  // namespace

void quantize_q8x32(const float* x, void* out, int64_t k) {
  float* scales = static_cast<float*>(out);
  auto* qs = reinterpret_cast<int8_t*>(scales + 2 * (k / kAct32));
  for (int64_t b = 0; b < k / kAct32; ++b, x += kAct32, qs += kAct32) {
    float inv_d = 0.0f;
    const float d = block_scale(x, kAct32, inv_d);
    int sum = 0;
    for (int i = 0; i < kAct32; ++i) {
      qs[i] = quantize_one(x[i], inv_d);
      sum += qs[i];
    }
    scales[2 * b] = d;
    scales[2 * b + 1] = d * static_cast<float>(sum);
  }
}

void quantize_q8x256(const float* x, void* out, int64_t k) {
  auto* blocks = static_cast<ActQ8x256*>(out);
  for (int64_t b = 0; b < k / kAct256; ++b, x += kAct256) {
    ActQ8x256& blk = blocks[b];
    float inv_d = 0.0f;
    blk.d = block_scale(x, kAct256, inv_d);
    for (int g = 0; g < kAct256 / 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) {
        blk.qs[g * 16 + i] = quantize_one(x[g * 16 + i], inv_d);
        sum += blk.qs[g * 16 + i];
      }
      blk.bsums[g] = static_cast<int16_t>(sum);
    }
  }
}

}  // namespace hearth::cpu::scalar
