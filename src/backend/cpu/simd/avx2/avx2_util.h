// Small AVX2 helpers shared by the simd/avx2 files. Everything here has internal linkage
// (static inline) so it never leaves an AVX2-compiled translation unit.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace hearth::cpu::avx2 {

static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// Four horizontal sums at once: {sum(a), sum(b), sum(c), sum(d)}.
static inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

// Decode streams each weight row once from memory. Before a row is multiplied, the bytes
// kPrefetchAhead past it are requested, so that the memory reads of later rows overlap this
// row's arithmetic: +8-12% decode on the default model over the hardware prefetcher alone; 1 and
// 4 KiB ahead were slower (docs/PERFORMANCE.md). Never past the end of this call's rows: the
// rows after them may be another thread's.
inline constexpr size_t kPrefetchAhead = 2048;

// out[r] = row_dot(row r) for the n_rows rows of `w`, `row_bytes` apart, prefetching ahead.
template <typename RowDot>
static inline void dot_rows_prefetched(const void* w, size_t row_bytes, int64_t n_rows, float* out,
                                       RowDot&& row_dot) {
  const auto* base = static_cast<const uint8_t*>(w);
  const uintptr_t stop =
      reinterpret_cast<uintptr_t>(base + static_cast<size_t>(n_rows) * row_bytes);
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* row = base + static_cast<size_t>(r) * row_bytes;
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(row) + kPrefetchAhead) & ~uintptr_t{63};
    const uintptr_t end =
        std::min(stop, reinterpret_cast<uintptr_t>(row) + row_bytes + kPrefetchAhead);
    for (uintptr_t p = begin; p < end; p += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
    }
    out[r] = row_dot(row);
  }
}

static inline float half_to_float(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// 16 bytes of packed 4-bit quants -> 32 bytes: the low nibbles (elements 0..15), then the high
// nibbles (elements 16..31).
static inline __m256i unpack_nibbles(const uint8_t* p) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i mask = _mm_set1_epi8(0x0f);
  const __m128i lo = _mm_and_si128(q, mask);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(q, 4), mask);
  return _mm256_set_m128i(hi, lo);
}

// Byte j is 0xff when bit j of `bits` is set, else 0.
static inline __m256i bits_to_bytes(uint32_t bits) {
  const __m256i spread =
      _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                          _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101,
                                             0x0202020202020202, 0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

// Sums of products of unsigned bytes `u` (< 128 keeps every pair in range) and signed bytes `s`,
// four adjacent bytes per int32 lane.
static inline __m256i dot_u8_s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

static inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// e^x for x in float range (below -87.3 the result flushes towards 0, above 88 it saturates).
// Range reduction x = n ln2 + r with |r| <= ln2/2, then a degree-6 polynomial; ~2 ulp.
static inline __m256 exp_ps(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3365478515625f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // ln2 split in a high part exact in float and a low correction
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i pow2n =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(pow2n));
}

}  // namespace hearth::cpu::avx2
