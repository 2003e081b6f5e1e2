// Float weights (f32, f16, bf16) against f32 activations, and the elementwise f32 ops.
#include "backend/cpu/simd/avx2/avx2_kernels.h"
#include "backend/cpu/simd/avx2/avx2_util.h"

namespace hearth::cpu::avx2 {
namespace {

static inline __m256 load_f16x8(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

static inline __m256 load_bf16x8(const uint8_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

static inline float bf16_scalar(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Four accumulators hide the FMA latency; `load_w` turns 8 stored weights into floats.
template <typename LoadW, typename LoadWScalar>
static inline float dot_with(int64_t k, const uint8_t* w, int64_t w_elem_bytes, const float* x,
                             LoadW load_w, LoadWScalar load_scalar) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= k; i += 32) {
    acc0 = _mm256_fmadd_ps(load_w(w + i * w_elem_bytes), _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(load_w(w + (i + 8) * w_elem_bytes), _mm256_loadu_ps(x + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(load_w(w + (i + 16) * w_elem_bytes), _mm256_loadu_ps(x + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(load_w(w + (i + 24) * w_elem_bytes), _mm256_loadu_ps(x + i + 24), acc3);
  }
  for (; i + 8 <= k; i += 8) {
    acc0 = _mm256_fmadd_ps(load_w(w + i * w_elem_bytes), _mm256_loadu_ps(x + i), acc0);
  }
  float tail = 0.0f;
  for (; i < k; ++i) tail += load_scalar(w + i * w_elem_bytes) * x[i];
  return hsum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3))) + tail;
}

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) {
  return dot_with(
      n, reinterpret_cast<const uint8_t*>(a), 4, b,
      [](const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); },
      [](const uint8_t* p) {
        float f;
        std::memcpy(&f, p, 4);
        return f;
      });
}

static float dot_f32_weights_row(int64_t k, const void* w, const void* a) {
  return dot_f32(static_cast<const float*>(w), static_cast<const float*>(a), k);
}

static float dot_f16_row(int64_t k, const void* w, const void* a) {
  return dot_with(k, static_cast<const uint8_t*>(w), 2, static_cast<const float*>(a), load_f16x8,
                  half_to_float);
}

static float dot_bf16_row(int64_t k, const void* w, const void* a) {
  return dot_with(k, static_cast<const uint8_t*>(w), 2, static_cast<const float*>(a), load_bf16x8,
                  bf16_scalar);
}

void dot_f32_weights(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
                     float* out) {
  dot_rows_prefetched(w, row_bytes, n_rows, out,
                      [&](const uint8_t* row) { return dot_f32_weights_row(k, row, a); });
}

void dot_f16(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
             float* out) {
  dot_rows_prefetched(w, row_bytes, n_rows, out,
                      [&](const uint8_t* row) { return dot_f16_row(k, row, a); });
}

void dot_bf16(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  dot_rows_prefetched(w, row_bytes, n_rows, out,
                      [&](const uint8_t* row) { return dot_bf16_row(k, row, a); });
}

void dequant_f16(const void* w, float* out, int64_t k) {
  const auto* p = static_cast<const uint8_t*>(w);
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) _mm256_storeu_ps(out + i, load_f16x8(p + 2 * i));
  for (; i < k; ++i) out[i] = half_to_float(p + 2 * i);
}

void dequant_bf16(const void* w, float* out, int64_t k) {
  const auto* p = static_cast<const uint8_t*>(w);
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) _mm256_storeu_ps(out + i, load_bf16x8(p + 2 * i));
  for (; i < k; ++i) out[i] = bf16_scalar(p + 2 * i);
}

float sum_squares(const float* x, int64_t n) {
  return dot_f32(x, x, n);
}

void scale_mul(const float* x, float scale, const float* w, float* y, int64_t n) {
  const __m256 s = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(
        y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), s), _mm256_loadu_ps(w + i)));
  }
  for (; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = exp_ps(_mm256_xor_ps(g, sign));  // exp(-g)
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  if (i < n) {
    // The tail goes through a zero-padded vector so it uses the same exp as the body.
    float g[8] = {}, u[8] = {}, o[8];
    for (int64_t j = i; j < n; ++j) {
      g[j - i] = gate[j];
      u[j - i] = up[j];
    }
    swiglu(g, u, o, 8);
    for (int64_t j = i; j < n; ++j) out[j] = o[j - i];
  }
}

void add(const float* a, const float* b, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  }
  for (; i < n; ++i) out[i] = a[i] + b[i];
}

}  // namespace hearth::cpu::avx2
