// The batch-invariant prefill GEMM (simd/avx2/gemm_avx2.cpp) on 512-bit vectors: the same
// per-element order with 16 lanes (lane j holds k = j mod 16) and tiles of 4 tokens x 6 rows (24
// accumulators). Float FMA code runs at full width here; the numerics differ from the AVX2
// kernel's, but within one process every element is always computed the same way.
#include <immintrin.h>

#include <cmath>

#include "backend/cpu/simd/gemm_nt_driver.h"

#include "backend/cpu/simd/avx512/avx512_kernels.h"

namespace hearth::cpu::avx512 {
namespace {

constexpr int kTileTokens = 4;
constexpr int kTileRows = 6;

// Sum of the 16 lanes in a fixed order: halves, quarters, pairs.
static inline float hsum16(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_extractf32x8_ps(v, 0), _mm512_extractf32x8_ps(v, 1));
  const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  const __m128 p = _mm_add_ps(q, _mm_movehl_ps(q, q));
  return _mm_cvtss_f32(_mm_add_ss(p, _mm_shuffle_ps(p, p, 1)));
}

struct Tile {
  void operator()(const float* const (&x)[kTileTokens], const float* const (&w)[kTileRows],
                  int64_t k0, int64_t k1, float (&out)[kTileTokens][kTileRows]) {
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
};

}  // namespace

void gemm_nt(const float* x, int64_t ldx, int64_t n_tokens, const float* w, int64_t n_rows,
             int64_t k, float* y, int64_t ldy) {
  gemm_nt_tiles<kTileTokens, kTileRows>(x, ldx, n_tokens, w, n_rows, k, y, ldy, Tile{});
}

}  // namespace hearth::cpu::avx512
