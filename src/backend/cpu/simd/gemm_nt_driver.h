// The loops of the batch-invariant prefill GEMM (KernelTable::gemm_nt) around an ISA's tile
// kernel: K in blocks of kGemmNtKBlock, tiles of kTokens x kRows (a partial tile repeats the last
// valid token or row and drops its results), block sums added in order. Each ISA's file calls it
// with a tile functor from its own anonymous namespace, so an instantiation never leaves the
// translation unit compiled with that ISA's flags.
#pragma once

#include <cstdint>

namespace hearth::cpu {

inline constexpr int64_t kGemmNtKBlock = 1024;

// tile(x_rows, w_rows, k0, k1, out) sets out[t][r] = x_rows[t][k0..k1) . w_rows[r][k0..k1).
template <int kTokens, int kRows, typename Tile>
inline void gemm_nt_tiles(const float* x, int64_t ldx, int64_t n_tokens, const float* w,
                          int64_t n_rows, int64_t k, float* y, int64_t ldy, Tile tile) {
  if (k == 0) {  // empty dot products
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t r = 0; r < n_rows; ++r) y[t * ldy + r] = 0.0f;
    }
    return;
  }
  for (int64_t k0 = 0; k0 < k; k0 += kGemmNtKBlock) {
    const int64_t k1 = k0 + kGemmNtKBlock < k ? k0 + kGemmNtKBlock : k;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokens) {
      const float* xt[kTokens];
      for (int t = 0; t < kTokens; ++t) {
        xt[t] = x + (t0 + t < n_tokens ? t0 + t : n_tokens - 1) * ldx;
      }
      for (int64_t r0 = 0; r0 < n_rows; r0 += kRows) {
        const float* wr[kRows];
        for (int r = 0; r < kRows; ++r) wr[r] = w + (r0 + r < n_rows ? r0 + r : n_rows - 1) * k;
        float out[kTokens][kRows];
        tile(xt, wr, k0, k1, out);
        for (int t = 0; t < kTokens && t0 + t < n_tokens; ++t) {
          float* yt = y + (t0 + t) * ldy + r0;
          for (int r = 0; r < kRows && r0 + r < n_rows; ++r) {
            yt[r] = k0 == 0 ? out[t][r] : yt[r] + out[t][r];
          }
        }
      }
    }
  }
}

}  // namespace hearth::cpu
