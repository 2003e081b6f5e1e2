// Attention for one token's query heads that share a kv head, with an online softmax over
// blocks of keys: scores of a block, one rescale of a head's running output when its maximum
// grows, then the weighted values. Keys are the outer loop of the scores and values the inner
// stream of the weighted sum, so each key and value row comes from L2 once and serves every
// head of the group from L1 (per-head loops would read it `group` times). Nothing of size
// n_keys is materialised.
#include "backend/cpu/kernels/kernel_table.h"
#include "backend/cpu/simd/avx2/avx2_kernels.h"
#include "backend/cpu/simd/avx2/avx2_util.h"
#include "backend/cpu/simd/scalar/scalar_kernels.h"

namespace hearth::cpu::avx2 {
namespace {

// q . k over hd (a multiple of 8) with two FMA chains.
static inline float dot_hd(const float* q, const float* k, int64_t hd) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + 16 <= hd; d += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(k + d), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 8), _mm256_loadu_ps(k + d + 8), a1);
  }
  if (d < hd) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(k + d), a0);
  return hsum(_mm256_add_ps(a0, a1));
}

// Eight horizontal sums at once: {sum(a[0]), ..., sum(a[7])}.
static inline __m256 hsum8(const __m256 a[8]) {
  const __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
  const __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// scale * (q . k_j) for eight keys kv_stride apart: eight independent FMA chains, one reduction.
static inline __m256 scores8(const float* q, const float* k, int64_t kv_stride, int64_t hd,
                             __m256 scale) {
  __m256 a[8];
  for (int j = 0; j < 8; ++j) a[j] = _mm256_setzero_ps();
  for (int64_t d = 0; d < hd; d += 8) {
    const __m256 qd = _mm256_loadu_ps(q + d);
    for (int j = 0; j < 8; ++j)
      a[j] = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k + j * kv_stride + d), a[j]);
  }
  return _mm256_mul_ps(hsum8(a), scale);
}

static inline float block_max(const float* p, int64_t nb) {
  __m256 m = _mm256_set1_ps(-__builtin_huge_valf());
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(p + b));
  float r = hmax(m);
  for (; b < nb; ++b) r = p[b] > r ? p[b] : r;
  return r;
}

// p[b] = exp(p[b] - max) for b < nb; returns their sum.
static inline float block_exp(float* p, int64_t nb, float max) {
  const __m256 vm = _mm256_set1_ps(max);
  __m256 sum = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(p + b), vm));
    _mm256_storeu_ps(p + b, e);
    sum = _mm256_add_ps(sum, e);
  }
  float tail = 0.0f;
  if (b < nb) {
    // the last partial vector goes through the same exp as the others
    float tmp[8];
    for (int64_t j = 0; j < 8; ++j) tmp[j] = b + j < nb ? p[b + j] : max;
    _mm256_storeu_ps(tmp, exp_ps(_mm256_sub_ps(_mm256_loadu_ps(tmp), vm)));
    for (int64_t j = 0; b + j < nb; ++j) {
      p[b + j] = tmp[j];
      tail += tmp[j];
    }
  }
  return hsum(sum) + tail;
}

// acc[g] += sum_b p[g][b] * v_b for kHeads heads, kChunks 8-float chunks of the head at a time
// with the accumulators in registers (kHeads * kChunks independent FMA chains); each value chunk
// is loaded once for all heads and each weight broadcast once for all chunks.
template <int kHeads, int kChunks>
static inline void weighted_values_chunks(const float* p, const float* v, int64_t nb,
                                          int64_t kv_stride, int64_t hd, int64_t c0, float* acc) {
  __m256 r[kHeads][kChunks];
  for (int g = 0; g < kHeads; ++g) {
    for (int c = 0; c < kChunks; ++c) r[g][c] = _mm256_loadu_ps(acc + g * hd + c0 + 8 * c);
  }
  for (int64_t b = 0; b < nb; ++b) {
    __m256 vv[kChunks];
    for (int c = 0; c < kChunks; ++c) vv[c] = _mm256_loadu_ps(v + b * kv_stride + c0 + 8 * c);
    for (int g = 0; g < kHeads; ++g) {
      const __m256 w = _mm256_broadcast_ss(p + g * kAttentionKeyBlock + b);
      for (int c = 0; c < kChunks; ++c) r[g][c] = _mm256_fmadd_ps(w, vv[c], r[g][c]);
    }
  }
  for (int g = 0; g < kHeads; ++g) {
    for (int c = 0; c < kChunks; ++c) _mm256_storeu_ps(acc + g * hd + c0 + 8 * c, r[g][c]);
  }
}

// kChunks chosen so kHeads * kChunks accumulators fit the 16 registers with the loads.
template <int kHeads>
static inline void weighted_values(const float* p, const float* v, int64_t nb, int64_t kv_stride,
                                   int64_t hd, float* acc) {
  constexpr int kChunks = kHeads == 1 ? 8 : kHeads == 2 ? 4 : 2;
  int64_t c0 = 0;
  for (; c0 + 8 * kChunks <= hd; c0 += 8 * kChunks) {
    weighted_values_chunks<kHeads, kChunks>(p, v, nb, kv_stride, hd, c0, acc);
  }
  for (; c0 < hd; c0 += 8) weighted_values_chunks<kHeads, 1>(p, v, nb, kv_stride, hd, c0, acc);
}

}  // namespace

void attention_group(const float* q, int64_t group, const float* k, const float* v, int64_t n_keys,
                     int64_t kv_stride, int64_t hd, float scale, float* out, float* scratch) {
  if (hd % 8 != 0) {
    return scalar::attention_group(q, group, k, v, n_keys, kv_stride, hd, scale, out, scratch);
  }
  float* acc = scratch;                                 // [group, hd]
  float* p = acc + group * hd;                          // [group, kAttentionKeyBlock]
  float* running_max = p + group * kAttentionKeyBlock;  // [group]
  float* running_sum = running_max + group;             // [group]
  for (int64_t i = 0; i < group * hd; i += 8) _mm256_storeu_ps(acc + i, _mm256_setzero_ps());
  for (int64_t g = 0; g < group; ++g) {
    running_max[g] = -__builtin_huge_valf();
    running_sum[g] = 0.0f;
  }
  const __m256 vscale = _mm256_set1_ps(scale);
  for (int64_t j0 = 0; j0 < n_keys; j0 += kAttentionKeyBlock) {
    const int64_t nb = n_keys - j0 < kAttentionKeyBlock ? n_keys - j0 : kAttentionKeyBlock;
    const float* kb = k + j0 * kv_stride;
    const float* vb = v + j0 * kv_stride;
    // Eight keys at a time for every head: their rows come from L2 for the first head only.
    int64_t b = 0;
    for (; b + 8 <= nb; b += 8) {
      for (int64_t g = 0; g < group; ++g) {
        _mm256_storeu_ps(p + g * kAttentionKeyBlock + b,
                         scores8(q + g * hd, kb + b * kv_stride, kv_stride, hd, vscale));
      }
    }
    for (; b < nb; ++b) {
      for (int64_t g = 0; g < group; ++g) {
        p[g * kAttentionKeyBlock + b] = scale * dot_hd(q + g * hd, kb + b * kv_stride, hd);
      }
    }
    for (int64_t g = 0; g < group; ++g) {
      float* pg = p + g * kAttentionKeyBlock;
      const float m = block_max(pg, nb);
      if (m > running_max[g]) {
        // Rescale what was accumulated under the old maximum.
        const float correction = __builtin_expf(running_max[g] - m);
        running_sum[g] *= correction;
        const __m256 c = _mm256_set1_ps(correction);
        for (int64_t d = 0; d < hd; d += 8) {
          _mm256_storeu_ps(acc + g * hd + d, _mm256_mul_ps(_mm256_loadu_ps(acc + g * hd + d), c));
        }
        running_max[g] = m;
      }
      running_sum[g] += block_exp(pg, nb, running_max[g]);
    }
    int64_t g = 0;
    for (; g + 4 <= group; g += 4) {
      weighted_values<4>(p + g * kAttentionKeyBlock, vb, nb, kv_stride, hd, acc + g * hd);
    }
    const float* pg = p + g * kAttentionKeyBlock;
    switch (group - g) {
      case 3:
        weighted_values<3>(pg, vb, nb, kv_stride, hd, acc + g * hd);
        break;
      case 2:
        weighted_values<2>(pg, vb, nb, kv_stride, hd, acc + g * hd);
        break;
      case 1:
        weighted_values<1>(pg, vb, nb, kv_stride, hd, acc + g * hd);
        break;
      default:
        break;
    }
  }
  for (int64_t g = 0; g < group; ++g) {
    const __m256 inv = _mm256_set1_ps(running_sum[g] > 0.0f ? 1.0f / running_sum[g] : 0.0f);
    for (int64_t d = 0; d < hd; d += 8) {
      _mm256_storeu_ps(out + g * hd + d, _mm256_mul_ps(_mm256_loadu_ps(acc + g * hd + d), inv));
    }
  }
}

}  // namespace hearth::cpu::avx2
