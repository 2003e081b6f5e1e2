// Batch-invariant f32 GEMM for prefill, y[t][r] = x[t] . w[r]: every output element is
// computed with the same operations in the same order whatever the number of tokens or rows in
// the call and wherever the element sits in it, so a prompt's logits do not depend on how its
// tokens were split into chunks or how much of it was cached. (OpenBLAS's sgemm kernels pick
// tile shapes by the matrix size, and an element's rounding moves with them.)
//
// Order per element: K in blocks of kGemmNtKBlock (simd/gemm_nt_driver.h); within a block one
// 8-lane FMA accumulator over k (lane j holds k = j mod 8), reduced by hsum; the block sums added
// in order; the k % 8 tail of the last block by scalar FMAs after its hsum. Tiles are 3 tokens x 4
// rows (12 accumulators); a partial tile repeats a valid token or row and drops its results, so
// edges compute exactly as interiors do.
#include "backend/cpu/simd/avx2/avx2_kernels.h"
#include "backend/cpu/simd/avx2/avx2_util.h"

#include <cmath>

#include "backend/cpu/simd/gemm_nt_driver.h"

namespace hearth::cpu::avx2 {
namespace {

constexpr int kTileTokens = 3;
constexpr int kTileRows = 4;

// acc[t][r] over k in [k0, k1): one 8-wide FMA chain per element, then hsum and the tail.
struct Tile {
  void operator()(const float* const (&x)[kTileTokens], const float* const (&w)[kTileRows],
                  int64_t k0, int64_t k1, float (&out)[kTileTokens][kTileRows]) {
    __m256 acc[kTileTokens][kTileRows];
    for (auto& row : acc) {
      for (auto& a : row) a = _mm256_setzero_ps();
    }
    int64_t i = k0;
    for (; i + 8 <= k1; i += 8) {
      const __m256 x0 = _mm256_loadu_ps(x[0] + i);
      const __m256 x1 = _mm256_loadu_ps(x[1] + i);
      const __m256 x2 = _mm256_loadu_ps(x[2] + i);
      for (int r = 0; r < kTileRows; ++r) {
        const __m256 wv = _mm256_loadu_ps(w[r] + i);
        acc[0][r] = _mm256_fmadd_ps(x0, wv, acc[0][r]);
        acc[1][r] = _mm256_fmadd_ps(x1, wv, acc[1][r]);
        acc[2][r] = _mm256_fmadd_ps(x2, wv, acc[2][r]);
      }
    }
    for (int t = 0; t < kTileTokens; ++t) {
      for (int r = 0; r < kTileRows; ++r) {
        float s = hsum(acc[t][r]);
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

}  // namespace hearth::cpu::avx2
