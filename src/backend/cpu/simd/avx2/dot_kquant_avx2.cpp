// Dot products of the K-quants with ActQ8x256 activations. Sub-block scales multiply the int16
// pair sums in integer arithmetic (madd), so each 256-element super-block is converted to float
// once; the mins / offsets use the activation's per-16 sums.
#include "backend/cpu/kernels/act_blocks.h"
#include "backend/cpu/kernels/kquant_scales.h"
#include "backend/cpu/simd/avx2/avx2_kernels.h"
#include "backend/cpu/simd/avx2/avx2_util.h"

namespace hearth::cpu::avx2 {
namespace {

constexpr int64_t kQ4_KBytes = 144;  // fp16 d, fp16 dmin, 12 bytes scales, 128 bytes quants
constexpr int64_t kQ5_KBytes = 176;  // ... plus 32 bytes of fifth bits before the quants
constexpr int64_t kQ6_KBytes = 210;  // 128 ql, 64 qh, 16 int8 scales, fp16 d

static inline int mins_dot(const uint8_t mins[8], const int16_t bsums[16]) {
  int s = 0;
  for (int j = 0; j < 8; ++j) s += mins[j] * (bsums[2 * j] + bsums[2 * j + 1]);
  return s;
}

// sum over 32 elements of q * a, times the sub-block scale, as 8 int32 lanes
static inline __m256i scaled_dot(__m256i q, const int8_t* a, int scale) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a)),
                           _mm256_set1_epi16(static_cast<short>(scale)));
}

}  // namespace

static float dot_q4_k_row(int64_t k, const void* w, const void* a) {
  const auto* p = static_cast<const uint8_t*>(w);
  const auto* act = static_cast<const ActQ8x256*>(a);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  float acc_min = 0.0f;
  for (int64_t i = 0; i < k / 256; ++i) {
    const uint8_t* b = p + i * kQ4_KBytes;
    const ActQ8x256& x = act[i];
    uint8_t sc[8], mn[8];
    unpack_k4_scales(b + 4, sc, mn);
    const uint8_t* qs = b + 16;
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i q = load256(qs + 32 * j);
      const __m256i lo = _mm256_and_si256(q, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      sumi = _mm256_add_epi32(sumi, scaled_dot(lo, x.qs + 64 * j, sc[2 * j]));
      sumi = _mm256_add_epi32(sumi, scaled_dot(hi, x.qs + 64 * j + 32, sc[2 * j + 1]));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float(b) * x.d), _mm256_cvtepi32_ps(sumi), acc);
    acc_min += half_to_float(b + 2) * x.d * static_cast<float>(mins_dot(mn, x.bsums));
  }
  return hsum(acc) - acc_min;
}

static float dot_q5_k_row(int64_t k, const void* w, const void* a) {
  const auto* p = static_cast<const uint8_t*>(w);
  const auto* act = static_cast<const ActQ8x256*>(a);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  float acc_min = 0.0f;
  for (int64_t i = 0; i < k / 256; ++i) {
    const uint8_t* b = p + i * kQ5_KBytes;
    const ActQ8x256& x = act[i];
    uint8_t sc[8], mn[8];
    unpack_k4_scales(b + 4, sc, mn);
    __m256i hbits = load256(b + 16);  // bit s of byte l: fifth bit of element l of sub-block s
    const uint8_t* qs = b + 48;
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j) {
      const __m256i q = load256(qs + 32 * j);
      const __m256i h_lo = _mm256_slli_epi16(_mm256_and_si256(hbits, one), 4);
      const __m256i h_hi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 1), one), 4);
      hbits = _mm256_srli_epi16(hbits, 2);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, low4), h_lo);
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), h_hi);
      sumi = _mm256_add_epi32(sumi, scaled_dot(lo, x.qs + 64 * j, sc[2 * j]));
      sumi = _mm256_add_epi32(sumi, scaled_dot(hi, x.qs + 64 * j + 32, sc[2 * j + 1]));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float(b) * x.d), _mm256_cvtepi32_ps(sumi), acc);
    acc_min += half_to_float(b + 2) * x.d * static_cast<float>(mins_dot(mn, x.bsums));
  }
  return hsum(acc) - acc_min;
}

// Q6_K: x = d * sc * (q - 32), q = 4 low bits from ql | 2 high bits from qh, one int8 scale per
// 16 elements. The -32 is applied through the activation sums.
static float dot_q6_k_row(int64_t k, const void* w, const void* a) {
  const auto* p = static_cast<const uint8_t*>(w);
  const auto* act = static_cast<const ActQ8x256*>(a);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i low2 = _mm256_set1_epi8(0x03);
  __m256 acc = _mm256_setzero_ps();
  float acc_offset = 0.0f;
  for (int64_t i = 0; i < k / 256; ++i) {
    const uint8_t* b = p + i * kQ6_KBytes;
    const auto* scales = reinterpret_cast<const int8_t*>(b + 192);
    const ActQ8x256& x = act[i];
    __m256i sumi = _mm256_setzero_si256();
    int offset = 0;
    for (int g = 0; g < 16; ++g) offset += scales[g] * x.bsums[g];
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = b + 64 * half;
      const __m256i qh = load256(b + 128 + 32 * half);
      const __m256i ql0 = load256(ql);
      const __m256i ql1 = load256(ql + 32);
      const int8_t* sc = scales + 8 * half;
      const int8_t* xq = x.qs + 128 * half;
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, low4),
                          _mm256_slli_epi16(_mm256_and_si256(qh, low2), 4)),
          _mm256_or_si256(_mm256_and_si256(ql1, low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), low2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), low2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), low2), 4)),
      };
      for (int j = 0; j < 4; ++j) {
        // int16 lanes 0-7 hold elements 0-15 (scale 2j), lanes 8-15 elements 16-31 (2j + 1)
        const __m256i s =
            _mm256_set_m128i(_mm_set1_epi16(sc[2 * j + 1]), _mm_set1_epi16(sc[2 * j]));
        const __m256i prod = _mm256_maddubs_epi16(q[j], load256(xq + 32 * j));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(prod, s));
      }
    }
    const float d = half_to_float(b + 208) * x.d;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    acc_offset += d * 32.0f * static_cast<float>(offset);
  }
  return hsum(acc) - acc_offset;
}

void dot_q4_k(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  dot_rows_prefetched(w, row_bytes, n_rows, out,
                      [&](const uint8_t* row) { return dot_q4_k_row(k, row, a); });
}

void dot_q5_k(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  dot_rows_prefetched(w, row_bytes, n_rows, out,
                      [&](const uint8_t* row) { return dot_q5_k_row(k, row, a); });
}

void dot_q6_k(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  dot_rows_prefetched(w, row_bytes, n_rows, out,
                      [&](const uint8_t* row) { return dot_q6_k_row(k, row, a); });
}

}  // namespace hearth::cpu::avx2
