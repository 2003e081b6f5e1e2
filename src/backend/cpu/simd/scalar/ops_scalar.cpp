#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/kernels/kernel_table.h"
#include "backend/cpu/simd/scalar/scalar_kernels.h"

namespace hearth::cpu::scalar {

float dot_f32(const float* a, const float* b, int64_t n) {
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float tail = 0.0f;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

float sum_squares(const float* x, int64_t n) {
  return dot_f32(x, x, n);
}

void scale_mul(const float* x, float scale, const float* w, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void add(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void attention_group(const float* q, int64_t group, const float* k, const float* v, int64_t n_keys,
                     int64_t kv_stride, int64_t head_dim, float scale, float* out, float* scratch) {
  float* acc = scratch;                                 // [group, head_dim]
  float* p = acc + group * head_dim;                    // [group, kAttentionKeyBlock]
  float* running_max = p + group * kAttentionKeyBlock;  // [group]
  float* running_sum = running_max + group;             // [group]
  for (int64_t i = 0; i < group * head_dim; ++i) acc[i] = 0.0f;
  for (int64_t g = 0; g < group; ++g) {
    running_max[g] = -std::numeric_limits<float>::infinity();
    running_sum[g] = 0.0f;
  }
  for (int64_t j0 = 0; j0 < n_keys; j0 += kAttentionKeyBlock) {
    const int64_t nb = n_keys - j0 < kAttentionKeyBlock ? n_keys - j0 : kAttentionKeyBlock;
    for (int64_t g = 0; g < group; ++g) {
      float* pg = p + g * kAttentionKeyBlock;
      float* ag = acc + g * head_dim;
      float block_max = -std::numeric_limits<float>::infinity();
      for (int64_t b = 0; b < nb; ++b) {
        pg[b] = scale * dot_f32(q + g * head_dim, k + (j0 + b) * kv_stride, head_dim);
        block_max = std::fmax(block_max, pg[b]);
      }
      if (block_max > running_max[g]) {
        // Rescale what was accumulated under the old maximum.
        const float correction = std::exp(running_max[g] - block_max);
        running_sum[g] *= correction;
        for (int64_t d = 0; d < head_dim; ++d) ag[d] *= correction;
        running_max[g] = block_max;
      }
      for (int64_t b = 0; b < nb; ++b) {
        pg[b] = std::exp(pg[b] - running_max[g]);
        running_sum[g] += pg[b];
        const float* vj = v + (j0 + b) * kv_stride;
        for (int64_t d = 0; d < head_dim; ++d) ag[d] += pg[b] * vj[d];
      }
    }
  }
  for (int64_t g = 0; g < group; ++g) {
    const float inv = running_sum[g] > 0.0f ? 1.0f / running_sum[g] : 0.0f;
    for (int64_t d = 0; d < head_dim; ++d) out[g * head_dim + d] = acc[g * head_dim + d] * inv;
  }
}

void gemm_nt(const float* x, int64_t ldx, int64_t n_tokens, const float* w, int64_t n_rows,
             int64_t k, float* y, int64_t ldy) {
  constexpr int64_t kBlock = 1024;
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < n_rows; ++r) {
      float total = 0.0f;
      for (int64_t k0 = 0; k0 < k; k0 += kBlock) {
        const int64_t k1 = std::min(k, k0 + kBlock);
        float s = 0.0f;
        for (int64_t i = k0; i < k1; ++i) s = std::fma(x[t * ldx + i], w[r * k + i], s);
        total = k0 == 0 ? s : total + s;
      }
      y[t * ldy + r] = total;
    }
  }
}

}  // namespace hearth::cpu::scalar
