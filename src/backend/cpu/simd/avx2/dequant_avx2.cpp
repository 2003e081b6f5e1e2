// Block formats -> f32 rows, for the prefill path that multiplies dequantized weight tiles with
// sgemm. Products are formed as the reference does (d * q, then + m) so values match it exactly.
#include "backend/cpu/simd/avx2/avx2_kernels.h"
#include "backend/cpu/simd/avx2/avx2_util.h"

namespace hearth::cpu::avx2 {
namespace {

// 32 unsigned byte quants -> out[32] = d * (q + offset) (+ m)
static inline void store_block(__m256i q, __m256 d, __m256 offset, __m256 m, float* out) {
  const __m128i lo = _mm256_castsi256_si128(q);
  const __m128i hi = _mm256_extracti128_si256(q, 1);
  const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
  for (int i = 0; i < 4; ++i) {
    const __m256 v = _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(parts[i])), offset);
    _mm256_storeu_ps(out + 8 * i, _mm256_add_ps(_mm256_mul_ps(d, v), m));
  }
}

}  // namespace

void dequant_q4_0(const void* w, float* out, int64_t k) {
  const auto* p = static_cast<const uint8_t*>(w);
  for (int64_t i = 0; i < k / 32; ++i, p += 18, out += 32) {
    store_block(unpack_nibbles(p + 2), _mm256_set1_ps(half_to_float(p)), _mm256_set1_ps(-8.0f),
                _mm256_setzero_ps(), out);
  }
}

void dequant_q4_1(const void* w, float* out, int64_t k) {
  const auto* p = static_cast<const uint8_t*>(w);
  for (int64_t i = 0; i < k / 32; ++i, p += 20, out += 32) {
    store_block(unpack_nibbles(p + 4), _mm256_set1_ps(half_to_float(p)), _mm256_setzero_ps(),
                _mm256_set1_ps(half_to_float(p + 2)), out);
  }
}

void dequant_q5_0(const void* w, float* out, int64_t k) {
  const auto* p = static_cast<const uint8_t*>(w);
  for (int64_t i = 0; i < k / 32; ++i, p += 22, out += 32) {
    uint32_t bits;
    std::memcpy(&bits, p + 2, 4);
    const __m256i q = _mm256_or_si256(
        unpack_nibbles(p + 6), _mm256_and_si256(bits_to_bytes(bits), _mm256_set1_epi8(0x10)));
    store_block(q, _mm256_set1_ps(half_to_float(p)), _mm256_set1_ps(-16.0f), _mm256_setzero_ps(),
                out);
  }
}

void dequant_q8_0(const void* w, float* out, int64_t k) {
  const auto* p = static_cast<const uint8_t*>(w);
  for (int64_t i = 0; i < k / 32; ++i, p += 34, out += 32) {
    const __m256 d = _mm256_set1_ps(half_to_float(p));
    for (int j = 0; j < 4; ++j) {
      const __m128i q8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 2 + 8 * j));
      _mm256_storeu_ps(out + 8 * j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8))));
    }
  }
}

}  // namespace hearth::cpu::avx2
