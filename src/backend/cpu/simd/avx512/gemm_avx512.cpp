// The batch-invariant prefill GEMM (simd/avx2/gemm_avx2.cpp) on 512-bit vectors: the same
// per-element order with 16 lanes (lane j holds k = j mod 16) and tiles of 4 tokens x 6 rows (24
// accumulators). Float FMA code runs at full width here; the numerics differ from the AVX2
// kernel's, but within one process every element is always computed the same way.
#include <immintrin.h>

#include <cmath>

#include "backend/cpu/simd/avx512/avx512_kernels.h"

namespace hearth::cpu::avx512 {
namespace {

constexpr int kTileTokens = 4;
constexpr int kTileRows = 6;
constexpr int64_t kKBlock = 1024;

// Sum of the 16 lanes in a fixed order: halves, quarters, pairs.
static inline float hsum16(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_extractf32x8_ps(v, 0), _mm512_extractf32x8_ps(v, 1));
  const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  const __m128 p = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(p, _mm_shuffle_ps(p, p, 1)));
}

static inline void tile_block(const float* const (&x)[kTileTokens],
                              const float* const (&w)[kTileRows], int64_t k0, int64_t k1,
                              float (&out)[kTileTokens][kTileRows]) {
  __m512 acc[kTileTokens][kTileRows];
  for (auto& row : acc) {
    for (auto& a : row) a = _mm512_setzero_ps();
  }
  int64_t i = k0;
  for (; i + 16 <= k1; i += 16) {
    __m512 xv[kTileTokens];
    for (int t = 0; t < kTileTokens; ++t) xv[t] = _mm512_loadu_ps(x[t] + i);
    for (int r = 0; r < kTileRows; ++r) {
      const __m512 wv = _mm512_loadu_ps(w[r] + i);
      for (int t = 0; t < kTileTokens; ++t) acc[t][r] = _mm512_fmadd_ps(xv[t], wv, acc[t][r]);
    }
  }
  for (int t = 0; t < kTileTokens; ++t) {
    for (int r = 0; r < kTileRows; ++r) {
      float s = hsum16(acc[t][r]);
      for (int64_t j = i; j < k1; ++j) s = std::fma(x[t][j], w[r][j], s);
      out[t][r] = s;
    }
  }
}

}  // namespace

void gemm_nt(const float* x, int64_t ldx, int64_t n_tokens, const float* w, int64_t n_rows,
             int64_t k, float* y, int64_t ldy) {
  if (k == 0) {  // empty dot products
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t r = 0; r < n_rows; ++r) y[t * ldy + r] = 0.0f;
    }
    return;
  }
  for (int64_t k0 = 0; k0 < k; k0 += kKBlock) {
    const int64_t k1 = k0 + kKBlock < k ? k0 + kKBlock : k;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTileTokens) {
      const float* xt[kTileTokens];
      for (int t = 0; t < kTileTokens; ++t) {
        xt[t] = x + (t0 + t < n_tokens ? t0 + t : n_tokens - 1) * ldx;
      }
      for (int64_t r0 = 0; r0 < n_rows; r0 += kTileRows) {
        const float* wr[kTileRows];
        for (int r = 0; r < kTileRows; ++r) wr[r] = w + (r0 + r < n_rows ? r0 + r : n_rows - 1) * k;
        float out[kTileTokens][kTileRows];
        tile_block(xt, wr, k0, k1, out);
        for (int t = 0; t < kTileTokens && t0 + t < n_tokens; ++t) {
          float* yt = y + (t0 + t) * ldy + r0;
          for (int r = 0; r < kTileRows && r0 + r < n_rows; ++r) {
            yt[r] = k0 == 0 ? out[t][r] : yt[r] + out[t][r];
          }
        }
      }
    }
  }
}

}  // namespace hearth::cpu::avx512
