// f32 activations -> 8-bit blocks. Rounds exactly like the scalar version (multiply by the
// reciprocal scale, round to nearest even) so both produce the same quants.
#include "backend/cpu/kernels/act_blocks.h"
#include "backend/cpu/simd/avx2/avx2_kernels.h"
#include "backend/cpu/simd/avx2/avx2_util.h"

namespace hearth::cpu::avx2 {
namespace {

static inline __m256 abs_ps(__m256 v) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

static inline float scale_of(float amax, float& inv_d) {
  const float d = amax / 127.0f;
  inv_d = d != 0.0f ? 1.0f / d : 0.0f;
  return d;
}

// 32 floats -> 32 int8 at `out`; `sums8` receives the quants as int32 (elements 0-7, 8-15, 16-23,
// 24-31) for the block sums.
static inline void quantize32(const float* x, __m256 inv_d, int8_t* out, __m256i sums8[4]) {
  __m256i q[4];
  for (int i = 0; i < 4; ++i) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), inv_d);
    q[i] = _mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    // Clamp like the scalar version (only rounding noise can push |v| past 127).
    q[i] =
        _mm256_max_epi32(_mm256_min_epi32(q[i], _mm256_set1_epi32(127)), _mm256_set1_epi32(-127));
    sums8[i] = q[i];
  }
  // pack 32 x int32 -> 32 x int8; packs works per 128-bit lane, the permute restores order
  const __m256i p16a = _mm256_packs_epi32(q[0], q[1]);
  const __m256i p16b = _mm256_packs_epi32(q[2], q[3]);
  const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
  const __m256i ordered =
      _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), ordered);
}

static inline float amax_of(const float* x, int n) {
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + i)));
  return hmax(m);
}

}  // namespace

void quantize_q8x32(const float* x, void* out, int64_t k) {
  float* scales = static_cast<float*>(out);
  auto* qs = reinterpret_cast<int8_t*>(scales + 2 * (k / kAct32));
  for (int64_t b = 0; b < k / kAct32; ++b, x += kAct32, qs += kAct32) {
    float inv_d = 0.0f;
    const float d = scale_of(amax_of(x, kAct32), inv_d);
    __m256i sums[4];
    quantize32(x, _mm256_set1_ps(inv_d), qs, sums);
    const int sum = hsum_i32(
        _mm256_add_epi32(_mm256_add_epi32(sums[0], sums[1]), _mm256_add_epi32(sums[2], sums[3])));
    scales[2 * b] = d;
    scales[2 * b + 1] = d * static_cast<float>(sum);
  }
}

void quantize_q8x256(const float* x, void* out, int64_t k) {
  auto* blocks = static_cast<ActQ8x256*>(out);
  for (int64_t b = 0; b < k / kAct256; ++b, x += kAct256) {
    float inv_d = 0.0f;
    const float d = scale_of(amax_of(x, kAct256), inv_d);
    const __m256 inv = _mm256_set1_ps(inv_d);
    ActQ8x256& blk = blocks[b];
    blk.d = d;
    for (int c = 0; c < kAct256 / 32; ++c) {
      __m256i sums[4];
      quantize32(x + 32 * c, inv, blk.qs + 32 * c, sums);
      blk.bsums[2 * c] = static_cast<int16_t>(hsum_i32(_mm256_add_epi32(sums[0], sums[1])));
      blk.bsums[2 * c + 1] = static_cast<int16_t>(hsum_i32(_mm256_add_epi32(sums[2], sums[3])));
    }
  }
}

}  // namespace hearth::cpu::avx2
