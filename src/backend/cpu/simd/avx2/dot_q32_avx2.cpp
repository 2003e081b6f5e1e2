// AVX2 dot products of the 32-element block formats: Q4_0, Q4_1, Q5_0, Q5_1 with ActRowQ8x32
// activations (q32_dot_impl.h) and Q8_0 with f32 activations. Each handles a run of rows.
#include "backend/cpu/simd/avx2/avx2_kernels.h"
#include "backend/cpu/simd/avx2/q32_dot_impl.h"

namespace hearth::cpu::avx2 {

void dot_q4_0(int64_t k, const void* w, size_t row_bytes, int64_t n, const void* a, float* out) {
  dot_rows<kQ4_0Bytes, 8, false, false, false>(k, w, row_bytes, n, a, out);
}

void dot_q4_1(int64_t k, const void* w, size_t row_bytes, int64_t n, const void* a, float* out) {
  dot_rows<kQ4_1Bytes, 0, true, false, false>(k, w, row_bytes, n, a, out);
}

void dot_q5_0(int64_t k, const void* w, size_t row_bytes, int64_t n, const void* a, float* out) {
  dot_rows<kQ5_0Bytes, 16, false, true, false>(k, w, row_bytes, n, a, out);
}

void dot_q5_1(int64_t k, const void* w, size_t row_bytes, int64_t n, const void* a, float* out) {
  dot_rows<kQ5_1Bytes, 0, true, true, false>(k, w, row_bytes, n, a, out);
}

namespace {

// Q8_0 weights times f32 activations: the int8 quants widened to f32 in registers; the scales of
// eight blocks go through one vcvtph2ps.
static inline float dot_q8_0_f32_row(int64_t k, const uint8_t* p, const float* x) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  const auto widen = [](const uint8_t* q) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q))));
  };
  const auto block = [&](const uint8_t* b, const float* xb, __m256 d, __m256& acc) {
    __m256 s0 = _mm256_mul_ps(widen(b + 2), _mm256_loadu_ps(xb));
    __m256 s1 = _mm256_mul_ps(widen(b + 10), _mm256_loadu_ps(xb + 8));
    s0 = _mm256_fmadd_ps(widen(b + 18), _mm256_loadu_ps(xb + 16), s0);
    s1 = _mm256_fmadd_ps(widen(b + 26), _mm256_loadu_ps(xb + 24), s1);
    acc = _mm256_fmadd_ps(d, _mm256_add_ps(s0, s1), acc);
  };
  const int64_t nb = k / 32;
  alignas(32) float d[8];
  int64_t i = 0;
  for (; i + 8 <= nb; i += 8) {
    uint16_t h[8];
    for (int j = 0; j < 8; ++j) std::memcpy(&h[j], p + (i + j) * kQ8_0Bytes, 2);
    _mm256_store_ps(d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h))));
    for (int j = 0; j < 8; j += 2) {
      block(p + (i + j) * kQ8_0Bytes, x + (i + j) * 32, _mm256_broadcast_ss(d + j), acc0);
      block(p + (i + j + 1) * kQ8_0Bytes, x + (i + j + 1) * 32, _mm256_broadcast_ss(d + j + 1),
            acc1);
    }
  }
  for (; i < nb; ++i) {
    block(p + i * kQ8_0Bytes, x + i * 32, _mm256_broadcastss_ps(half_pair(p + i * kQ8_0Bytes)),
          acc0);
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

}  // namespace

void dot_q8_0_f32(int64_t k, const void* w, size_t row_bytes, int64_t n, const void* a,
                  float* out) {
  dot_rows_prefetched(w, row_bytes, n, out, [&](const uint8_t* row) {
    return dot_q8_0_f32_row(k, row, static_cast<const float*>(a));
  });
}

}  // namespace hearth::cpu::avx2
