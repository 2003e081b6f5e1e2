// Integer block dot products: weight quants times 8-bit activation quants summed exactly in int32
// per block, then scaled once per block.
#include <cstring>

#include "backend/cpu/kernels/act_blocks.h"
#include "backend/cpu/kernels/kquant_scales.h"
#include "backend/cpu/simd/scalar/scalar_kernels.h"
#include "core/fp16.h"
#include "core/quant_blocks.h"

namespace hearth::cpu::scalar {
namespace {

template <typename Block>
Block load(const void* base, int64_t i) {
  Block b;
  std::memcpy(&b, static_cast<const uint8_t*>(base) + static_cast<size_t>(i) * sizeof(Block),
              sizeof(Block));
  return b;
}

// Sum over a 32-element block of the 4-bit quants (low nibbles, then high) times a.qs.
int nibble_dot(const uint8_t* qs, const int8_t* a) {
  int sum = 0;
  for (int j = 0; j < 16; ++j) sum += (qs[j] & 0x0f) * a[j] + (qs[j] >> 4) * a[j + 16];
  return sum;
}

// Same for 5-bit quants whose fifth bits are the bits of qh (element j at bit j).
int q5_dot(const uint8_t* qs, const uint8_t* qh_bytes, const int8_t* a) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  int sum = 0;
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    sum += lo * a[j] + hi * a[j + 16];
  }
  return sum;
}

}  // namespace

static float dot_q4_0_row(int64_t k, const void* w, const void* a) {
  const ActRowQ8x32 act = act_row_q8x32(a, k);
  float acc = 0.0f;
  for (int64_t i = 0; i < k / kQK; ++i) {
    const auto b = load<BlockQ4_0>(w, i);
    const float d = fp16_to_f32(b.d);
    // sum((q - 8) * a) = sum(q * a) - 8 * sum(a)
    acc += d * (act.scales[2 * i] * static_cast<float>(nibble_dot(b.qs, act.qs + kQK * i)) -
                8.0f * act.scales[2 * i + 1]);
  }
  return acc;
}

static float dot_q4_1_row(int64_t k, const void* w, const void* a) {
  const ActRowQ8x32 act = act_row_q8x32(a, k);
  float acc = 0.0f;
  for (int64_t i = 0; i < k / kQK; ++i) {
    const auto b = load<BlockQ4_1>(w, i);
    acc += fp16_to_f32(b.d) * act.scales[2 * i] *
               static_cast<float>(nibble_dot(b.qs, act.qs + kQK * i)) +
           fp16_to_f32(b.m) * act.scales[2 * i + 1];
  }
  return acc;
}

static float dot_q5_0_row(int64_t k, const void* w, const void* a) {
  const ActRowQ8x32 act = act_row_q8x32(a, k);
  float acc = 0.0f;
  for (int64_t i = 0; i < k / kQK; ++i) {
    const auto b = load<BlockQ5_0>(w, i);
    const float d = fp16_to_f32(b.d);
    acc += d * (act.scales[2 * i] * static_cast<float>(q5_dot(b.qs, b.qh, act.qs + kQK * i)) -
                16.0f * act.scales[2 * i + 1]);
  }
  return acc;
}

static float dot_q5_1_row(int64_t k, const void* w, const void* a) {
  const ActRowQ8x32 act = act_row_q8x32(a, k);
  float acc = 0.0f;
  for (int64_t i = 0; i < k / kQK; ++i) {
    const auto b = load<BlockQ5_1>(w, i);
    acc += fp16_to_f32(b.d) * act.scales[2 * i] *
               static_cast<float>(q5_dot(b.qs, b.qh, act.qs + kQK * i)) +
           fp16_to_f32(b.m) * act.scales[2 * i + 1];
  }
  return acc;
}

static float dot_q8_0_f32_row(int64_t k, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(a);
  float acc = 0.0f;
  for (int64_t i = 0; i < k / kQK; ++i, x += kQK) {
    const auto b = load<BlockQ8_0>(w, i);
    float sum = 0.0f;
    for (int j = 0; j < kQK; ++j) sum += static_cast<float>(b.qs[j]) * x[j];
    acc += fp16_to_f32(b.d) * sum;
  }
  return acc;
}

static float dot_q4_k_row(int64_t k, const void* w, const void* a) {
  const auto* act = static_cast<const ActQ8x256*>(a);
  float acc = 0.0f;
  for (int64_t i = 0; i < k / kQK_K; ++i) {
    const auto b = load<BlockQ4_K>(w, i);
    const ActQ8x256& x = act[i];
    uint8_t sc[8], mn[8];
    unpack_k4_scales(b.scales, sc, mn);
    int sumi = 0, summ = 0;
    for (int sub = 0; sub < 8; ++sub) {
      const uint8_t* qs = b.qs + (sub / 2) * 32;
      const int shift = (sub % 2) * 4;
      int s = 0;
      for (int l = 0; l < 32; ++l) s += ((qs[l] >> shift) & 0x0f) * x.qs[sub * 32 + l];
      sumi += sc[sub] * s;
      summ += mn[sub] * (x.bsums[2 * sub] + x.bsums[2 * sub + 1]);
    }
    acc += x.d * (fp16_to_f32(b.d) * static_cast<float>(sumi) -
                  fp16_to_f32(b.dmin) * static_cast<float>(summ));
  }
  return acc;
}

static float dot_q5_k_row(int64_t k, const void* w, const void* a) {
  const auto* act = static_cast<const ActQ8x256*>(a);
  float acc = 0.0f;
  for (int64_t i = 0; i < k / kQK_K; ++i) {
    const auto b = load<BlockQ5_K>(w, i);
    const ActQ8x256& x = act[i];
    uint8_t sc[8], mn[8];
    unpack_k4_scales(b.scales, sc, mn);
    int sumi = 0, summ = 0;
    for (int sub = 0; sub < 8; ++sub) {
      const uint8_t* qs = b.qs + (sub / 2) * 32;
      const int shift = (sub % 2) * 4;
      int s = 0;
      for (int l = 0; l < 32; ++l) {
        const int q = ((qs[l] >> shift) & 0x0f) | (((b.qh[l] >> sub) & 1) << 4);
        s += q * x.qs[sub * 32 + l];
      }
      sumi += sc[sub] * s;
      summ += mn[sub] * (x.bsums[2 * sub] + x.bsums[2 * sub + 1]);
    }
    acc += x.d * (fp16_to_f32(b.d) * static_cast<float>(sumi) -
                  fp16_to_f32(b.dmin) * static_cast<float>(summ));
  }
  return acc;
}

static float dot_q6_k_row(int64_t k, const void* w, const void* a) {
  const auto* act = static_cast<const ActQ8x256*>(a);
  float acc = 0.0f;
  for (int64_t i = 0; i < k / kQK_K; ++i) {
    const auto b = load<BlockQ6_K>(w, i);
    const ActQ8x256& x = act[i];
    int sumi = 0;
    for (int e = 0; e < kQK_K; e += 16) {
      int s = 0;
      for (int t = e; t < e + 16; ++t) {
        const int half = t / 128;
        const int kk = (t % 128) / 32;
        const int l = t % 32;
        const uint8_t ql = b.ql[half * 64 + l + 32 * (kk % 2)];
        const int low = kk < 2 ? (ql & 0x0f) : (ql >> 4);
        const int high = (b.qh[half * 32 + l] >> (2 * kk)) & 3;
        s += (low | (high << 4)) * x.qs[t];
      }
      // sum((q - 32) * a) over the 16 elements sharing a scale
      sumi += b.scales[e / 16] * (s - 32 * x.bsums[e / 16]);
    }
    acc += x.d * fp16_to_f32(b.d) * static_cast<float>(sumi);
  }
  return acc;
}

static float dot_f32_weights_row(int64_t k, const void* w, const void* a) {
  return dot_f32(static_cast<const float*>(w), static_cast<const float*>(a), k);
}

static float dot_f16_row(int64_t k, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(a);
  const auto* bytes = static_cast<const uint8_t*>(w);
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    for (int j = 0; j < 8; ++j) {
      uint16_t h;
      std::memcpy(&h, bytes + 2 * (i + j), 2);
      acc[j] += fp16_to_f32(h) * x[i + j];
    }
  }
  float tail = 0.0f;
  for (; i < k; ++i) {
    uint16_t h;
    std::memcpy(&h, bytes + 2 * i, 2);
    tail += fp16_to_f32(h) * x[i];
  }
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

static float dot_bf16_row(int64_t k, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(a);
  const auto* bytes = static_cast<const uint8_t*>(w);
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    for (int j = 0; j < 8; ++j) {
      uint16_t h;
      std::memcpy(&h, bytes + 2 * (i + j), 2);
      acc[j] += bf16_to_f32(h) * x[i + j];
    }
  }
  float tail = 0.0f;
  for (; i < k; ++i) {
    uint16_t h;
    std::memcpy(&h, bytes + 2 * i, 2);
    tail += bf16_to_f32(h) * x[i];
  }
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

void dot_q4_0(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot_q4_0_row(k, static_cast<const uint8_t*>(w) + r * row_bytes, a);
  }
}

void dot_q4_1(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot_q4_1_row(k, static_cast<const uint8_t*>(w) + r * row_bytes, a);
  }
}

void dot_q5_0(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot_q5_0_row(k, static_cast<const uint8_t*>(w) + r * row_bytes, a);
  }
}

void dot_q5_1(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot_q5_1_row(k, static_cast<const uint8_t*>(w) + r * row_bytes, a);
  }
}

void dot_q8_0_f32(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
                  float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot_q8_0_f32_row(k, static_cast<const uint8_t*>(w) + r * row_bytes, a);
  }
}

void dot_q4_k(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot_q4_k_row(k, static_cast<const uint8_t*>(w) + r * row_bytes, a);
  }
}

void dot_q5_k(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot_q5_k_row(k, static_cast<const uint8_t*>(w) + r * row_bytes, a);
  }
}

void dot_q6_k(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot_q6_k_row(k, static_cast<const uint8_t*>(w) + r * row_bytes, a);
  }
}

void dot_f32_weights(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
                     float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot_f32_weights_row(k, static_cast<const uint8_t*>(w) + r * row_bytes, a);
  }
}

void dot_f16(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
             float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot_f16_row(k, static_cast<const uint8_t*>(w) + r * row_bytes, a);
  }
}

void dot_bf16(int64_t k, const void* w, size_t row_bytes, int64_t n_rows, const void* a,
              float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot_bf16_row(k, static_cast<const uint8_t*>(w) + r * row_bytes, a);
  }
}

}  // namespace hearth::cpu::scalar
