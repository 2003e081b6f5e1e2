#include "backend/reference/dequantize.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "core/fp16.h"
#include "core/quant_blocks.h"

// Each block is copied into its struct before use, so `src` may have any alignment. Products are
// formed in the order ggml uses (scale first, then times the quant) so results match it exactly.
namespace hearth::reference {
namespace {

template <typename Block>
Block load_block(const uint8_t* src, int64_t i) {
  Block b;
  std::memcpy(&b, src + static_cast<size_t>(i) * sizeof(Block), sizeof(Block));
  return b;
}

float h2f(uint16_t h) {
  return fp16_to_f32(h);
}

// ---- 32-element formats -------------------------------------------------------------------------

// x = d * (q - 8); element j in the low nibble of qs[j], element j + 16 in the high nibble.
void dequant_q4_0(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const auto b = load_block<BlockQ4_0>(src, i);
    const float d = h2f(b.d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * static_cast<float>((b.qs[j] & 0x0f) - 8);
      y[j + kQK / 2] = d * static_cast<float>((b.qs[j] >> 4) - 8);
    }
  }
}

// x = d * q + m
void dequant_q4_1(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const auto b = load_block<BlockQ4_1>(src, i);
    const float d = h2f(b.d);
    const float m = h2f(b.m);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * static_cast<float>(b.qs[j] & 0x0f) + m;
      y[j + kQK / 2] = d * static_cast<float>(b.qs[j] >> 4) + m;
    }
  }
}

// Five-bit quants: the fifth bit of element j is bit j of the little-endian 32-bit qh.
int q5_value(const uint8_t* qs, uint32_t qh, int j) {
  const int low = j < kQK / 2 ? (qs[j] & 0x0f) : (qs[j - kQK / 2] >> 4);
  return low | static_cast<int>(((qh >> j) & 1u) << 4);
}

// x = d * (q - 16)
void dequant_q5_0(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const auto b = load_block<BlockQ5_0>(src, i);
    const float d = h2f(b.d);
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof qh);
    for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(q5_value(b.qs, qh, j) - 16);
  }
}

// x = d * q + m
void dequant_q5_1(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const auto b = load_block<BlockQ5_1>(src, i);
    const float d = h2f(b.d);
    const float m = h2f(b.m);
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof qh);
    for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(q5_value(b.qs, qh, j)) + m;
  }
}

// x = d * q
void dequant_q8_0(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const auto b = load_block<BlockQ8_0>(src, i);
    const float d = h2f(b.d);
    for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(b.qs[j]);
  }
}

// x = d * q; `s` (d * sum of q) is a cached dot-product term and plays no part in the values.
void dequant_q8_1(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const auto b = load_block<BlockQ8_1>(src, i);
    const float d = h2f(b.d);
    for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(b.qs[j]);
  }
}

// The non-linear 4-bit codebook shared by IQ4_NL and IQ4_XS.
constexpr std::array<int8_t, 16> kIq4Values = {-127, -104, -83, -65, -49, -35, -22, -10,
                                               1,    13,   25,  38,  53,  69,  89,  113};

// IQ4_NL: { fp16 d; u8 qs[16] }, x = d * codebook[nibble], low nibbles first.
void dequant_iq4_nl(const uint8_t* src, float* y, int64_t nb) {
  constexpr size_t kBlockBytes = 2 + kQK / 2;
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const uint8_t* b = src + static_cast<size_t>(i) * kBlockBytes;
    uint16_t dh;
    std::memcpy(&dh, b, 2);
    const float d = h2f(dh);
    const uint8_t* qs = b + 2;
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * static_cast<float>(kIq4Values[qs[j] & 0x0f]);
      y[j + kQK / 2] = d * static_cast<float>(kIq4Values[qs[j] >> 4]);
    }
  }
}

// MXFP4 (OCP microscaling): { u8 e8m0 exponent; u8 qs[16] } holding FP4 E2M1 values. The E2M1
// magnitudes {0, .5, 1, 1.5, 2, 3, 4, 6} are stored doubled as integers and the scale halved, as
// ggml does: x = 2^(e - 128) * doubled_value.
constexpr std::array<int8_t, 16> kE2m1Doubled = {0, 1,  2,  3,  4,  6,  8,  12,
                                                 0, -1, -2, -3, -4, -6, -8, -12};

float e8m0_half_scale(uint8_t e) {
  // 2^(e - 128): subnormal for e < 2, else exponent field e - 1.
  const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void dequant_mxfp4(const uint8_t* src, float* y, int64_t nb) {
  constexpr size_t kBlockBytes = 1 + kQK / 2;
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const uint8_t* b = src + static_cast<size_t>(i) * kBlockBytes;
    const float d = e8m0_half_scale(b[0]);
    const uint8_t* qs = b + 1;
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * static_cast<float>(kE2m1Doubled[qs[j] & 0x0f]);
      y[j + kQK / 2] = d * static_cast<float>(kE2m1Doubled[qs[j] >> 4]);
    }
  }
}

// ---- K-quants: 256-element super-blocks ---------------------------------------------------------

// Q2_K: 16 sub-blocks of 16; scales[k] holds the 4-bit scale (low) and 4-bit min (high) of
// sub-block k. The 2-bit quants of each 128-element half are spread over 32 bytes: the byte
// holds four elements 32 apart, at shifts 0, 2, 4, 6. x = d * sc * q - dmin * m.
void dequant_q2_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const auto b = load_block<BlockQ2_K>(src, i);
    const float d = h2f(b.d);
    const float dmin = h2f(b.dmin);
    for (int e = 0; e < kQK_K; ++e) {
      const int half = e / 128;  // which 32 bytes of qs
      const int shift = (e % 128) / 32 * 2;
      const int l = e % 32;    // byte within those 32
      const int sub = e / 16;  // sub-block index 0..15
      const uint8_t sc = b.scales[sub];
      const float dl = d * static_cast<float>(sc & 0x0f);
      const float ml = dmin * static_cast<float>(sc >> 4);
      const int q = (b.qs[half * 32 + l] >> shift) & 3;
      y[e] = dl * static_cast<float>(q) - ml;
    }
    y += kQK_K;
  }
}

// Q3_K: 16 signed 6-bit scales packed in 12 bytes: the low 4 bits of scale k are the low
// (k < 8) or high (k >= 8) nibble of scales[k % 8]; its top 2 bits are bits 2*(k/4) of
// scales[8 + k % 4]; stored with a +32 bias.
int q3_k_scale(const uint8_t* scales, int k) {
  const int low = k < 8 ? (scales[k] & 0x0f) : (scales[k - 8] >> 4);
  const int high = (scales[8 + k % 4] >> (2 * (k / 4))) & 3;
  return (low | (high << 4)) - 32;
}

// Q3_K: 2 low bits per element laid out like Q2_K, the third bit in hmask: element e uses bit
// e / 32 of hmask[e % 32]. A clear bit means the quant is offset by -4. x = d * sc * q.
void dequant_q3_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const auto b = load_block<BlockQ3_K>(src, i);
    const float d = h2f(b.d);
    for (int e = 0; e < kQK_K; ++e) {
      const int half = e / 128;
      const int shift = (e % 128) / 32 * 2;
      const int l = e % 32;
      const float dl = d * static_cast<float>(q3_k_scale(b.scales, e / 16));
      const int low = (b.qs[half * 32 + l] >> shift) & 3;
      const bool high_set = (b.hmask[l] >> (e / 32)) & 1;
      y[e] = dl * static_cast<float>(low - (high_set ? 0 : 4));
    }
    y += kQK_K;
  }
}

// Q4_K / Q5_K: 8 sub-blocks of 32 with 6-bit scale and min packed in 12 bytes. For j < 4 they
// are the low 6 bits of bytes j and j + 4; for j >= 4 the low 4 bits come from the nibbles of
// byte j + 4 and the top 2 bits from the spare top bits of bytes j - 4 and j.
void k4_scale_min(const uint8_t* q, int j, int& scale, int& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q4_K: each 64 elements share 32 bytes of qs: the first 32 in the low nibbles, the next 32 in
// the high nibbles. x = d * sc * q - dmin * m.
void dequant_q4_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const auto b = load_block<BlockQ4_K>(src, i);
    const float d = h2f(b.d);
    const float dmin = h2f(b.dmin);
    for (int sub = 0; sub < 8; ++sub) {
      int sc = 0, m = 0;
      k4_scale_min(b.scales, sub, sc, m);
      const float dl = d * static_cast<float>(sc);
      const float ml = dmin * static_cast<float>(m);
      const uint8_t* qs = b.qs + (sub / 2) * 32;
      const int shift = (sub % 2) * 4;
      for (int l = 0; l < 32; ++l) {
        y[sub * 32 + l] = dl * static_cast<float>((qs[l] >> shift) & 0x0f) - ml;
      }
    }
    y += kQK_K;
  }
}

// Q5_K: Q4_K plus a fifth bit: element l of sub-block s takes bit s of qh[l].
void dequant_q5_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const auto b = load_block<BlockQ5_K>(src, i);
    const float d = h2f(b.d);
    const float dmin = h2f(b.dmin);
    for (int sub = 0; sub < 8; ++sub) {
      int sc = 0, m = 0;
      k4_scale_min(b.scales, sub, sc, m);
      const float dl = d * static_cast<float>(sc);
      const float ml = dmin * static_cast<float>(m);
      const uint8_t* qs = b.qs + (sub / 2) * 32;
      const int shift = (sub % 2) * 4;
      for (int l = 0; l < 32; ++l) {
        const int q = ((qs[l] >> shift) & 0x0f) | (((b.qh[l] >> sub) & 1) << 4);
        y[sub * 32 + l] = dl * static_cast<float>(q) - ml;
      }
    }
    y += kQK_K;
  }
}

// Q6_K: per 128-element half, 64 bytes of ql (low 4 bits) and 32 bytes of qh (high 2 bits).
// Element l + 32 * k of a half (k = 0..3) takes the low nibble (k even) or high nibble (k odd)
// of ql[l + 32 * (k % 2)] and bits 2k..2k+1 of qh[l]. 16 int8 scales, one per 16 elements.
// x = d * sc * (q - 32).
void dequant_q6_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const auto b = load_block<BlockQ6_K>(src, i);
    const float d = h2f(b.d);
    for (int e = 0; e < kQK_K; ++e) {
      const int half = e / 128;
      const int k = (e % 128) / 32;
      const int l = e % 32;
      const uint8_t ql = b.ql[half * 64 + l + 32 * (k % 2)];
      const int low = k < 2 ? (ql & 0x0f) : (ql >> 4);
      const int high = (b.qh[half * 32 + l] >> (2 * k)) & 3;
      const int q = (low | (high << 4)) - 32;
      const float dl = d * static_cast<float>(b.scales[e / 16]);
      y[e] = dl * static_cast<float>(q);
    }
    y += kQK_K;
  }
}

// Q8_K: { f32 d; i8 qs[256]; i16 bsums[16] }, x = d * q; bsums are dot-product helpers.
void dequant_q8_k(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    const auto b = load_block<BlockQ8_K>(src, i);
    for (int j = 0; j < kQK_K; ++j) y[j] = b.d * static_cast<float>(b.qs[j]);
  }
}

// IQ4_XS: { fp16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128] }: 8 sub-blocks of 32 with 6-bit
// scales (low 4 bits in nibble s % 2 of scales_l[s / 2], high 2 bits at bit 2s of scales_h,
// bias 32); each sub-block's 16 bytes give 16 low-nibble then 16 high-nibble codebook indices.
void dequant_iq4_xs(const uint8_t* src, float* y, int64_t nb) {
  constexpr size_t kBlockBytes = 2 + 2 + 4 + kQK_K / 2;
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    const uint8_t* b = src + static_cast<size_t>(i) * kBlockBytes;
    uint16_t dh, scales_h;
    std::memcpy(&dh, b, 2);
    std::memcpy(&scales_h, b + 2, 2);
    const uint8_t* scales_l = b + 4;
    const uint8_t* qs = b + 8;
    const float d = h2f(dh);
    for (int sub = 0; sub < 8; ++sub) {
      const int low = (scales_l[sub / 2] >> (4 * (sub % 2))) & 0x0f;
      const int high = (scales_h >> (2 * sub)) & 3;
      const float dl = d * static_cast<float>((low | (high << 4)) - 32);
      const uint8_t* q = qs + sub * 16;
      for (int j = 0; j < 16; ++j) {
        y[sub * 32 + j] = dl * static_cast<float>(kIq4Values[q[j] & 0x0f]);
        y[sub * 32 + j + 16] = dl * static_cast<float>(kIq4Values[q[j] >> 4]);
      }
    }
  }
}

// ---- Ternary formats (values in {-1, 0, 1} times d)
// ----------------------------------------------

// The ternary digit at position `n` (0 = most significant) of a byte that stores five base-3
// digits as a fixed-point fraction: multiply by 3^n (mod 256) to bring it to the top, then the
// top trit is floor(byte * 3 / 256).
int ternary_digit(uint8_t byte, int n) {
  static constexpr std::array<uint8_t, 5> kPow3 = {1, 3, 9, 27, 81};
  const auto shifted = static_cast<uint8_t>(byte * kPow3[static_cast<size_t>(n)]);
  return ((static_cast<int>(shifted) * 3) >> 8) - 1;
}

// TQ1_0: { u8 qs[48]; u8 qh[4]; fp16 d }. qs[0..32) hold elements n * 32 + m (digit n of byte
// m), qs[32..48) elements 160 + n * 16 + m, qh elements 240 + n * 4 + m (four digits each).
void dequant_tq1_0(const uint8_t* src, float* y, int64_t nb) {
  constexpr size_t kBlockBytes = 48 + 4 + 2;
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    const uint8_t* b = src + static_cast<size_t>(i) * kBlockBytes;
    uint16_t dh;
    std::memcpy(&dh, b + 52, 2);
    const float d = h2f(dh);
    for (int n = 0; n < 5; ++n) {
      for (int m = 0; m < 32; ++m) y[n * 32 + m] = static_cast<float>(ternary_digit(b[m], n)) * d;
    }
    for (int n = 0; n < 5; ++n) {
      for (int m = 0; m < 16; ++m) {
        y[160 + n * 16 + m] = static_cast<float>(ternary_digit(b[32 + m], n)) * d;
      }
    }
    for (int n = 0; n < 4; ++n) {
      for (int m = 0; m < 4; ++m) {
        y[240 + n * 4 + m] = static_cast<float>(ternary_digit(b[48 + m], n)) * d;
      }
    }
  }
}

// TQ2_0: { u8 qs[64]; fp16 d }: 2-bit codes q in {0, 1, 2}, x = (q - 1) * d; each 32 bytes hold
// 128 elements, element 32 * k + m at bits 2k of byte m.
void dequant_tq2_0(const uint8_t* src, float* y, int64_t nb) {
  constexpr size_t kBlockBytes = 64 + 2;
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    const uint8_t* b = src + static_cast<size_t>(i) * kBlockBytes;
    uint16_t dh;
    std::memcpy(&dh, b + 64, 2);
    const float d = h2f(dh);
    for (int e = 0; e < kQK_K; ++e) {
      const int q = (b[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      y[e] = static_cast<float>(q - 1) * d;
    }
  }
}

// ---- FP8 (OCP 8-bit floating point) -------------------------------------------------------------

// E4M3 "fn": bias 7, three mantissa bits, no infinities; S.1111.111 is NaN.
float f8_e4m3_to_f32(uint8_t b) {
  const float sign = (b & 0x80) ? -1.0f : 1.0f;
  const int e = (b >> 3) & 0x0f;
  const int m = b & 0x07;
  if (e == 15 && m == 7) return std::numeric_limits<float>::quiet_NaN();
  if (e == 0) return sign * std::ldexp(static_cast<float>(m), -9);  // subnormal: m * 2^-6 / 8
  return sign * std::ldexp(1.0f + static_cast<float>(m) / 8.0f, e - 7);
}

// E5M2 is the top byte of an IEEE half (bias 15, two mantissa bits, infinities and NaN).
float f8_e5m2_to_f32(uint8_t b) {
  return fp16_to_f32(static_cast<uint16_t>(b << 8));
}

}  // namespace

bool can_dequantize(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kF64:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ8_0:
    case DType::kQ8_1:
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kQ8_K:
    case DType::kIQ4_NL:
    case DType::kIQ4_XS:
    case DType::kTQ1_0:
    case DType::kTQ2_0:
    case DType::kMXFP4:
    case DType::kF8_E4M3:
    case DType::kF8_E5M2:
      return true;
    default:
      return false;
  }
}

Status dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  const DTypeTraits& tr = dtype_traits(t);
  if (n < 0 || n % tr.block_elems != 0) {
    return invalid_argument("dequantize: " + std::to_string(n) + " elements is not a whole " +
                            "number of " + std::string(tr.name) + " blocks");
  }
  const int64_t nb = n / tr.block_elems;
  const auto* s = static_cast<const uint8_t*>(src);
  switch (t) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return {};
    case DType::kF16:
    case DType::kBF16: {
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, s + 2 * i, 2);
        dst[i] = t == DType::kF16 ? fp16_to_f32(h) : bf16_to_f32(h);
      }
      return {};
    }
    case DType::kF8_E4M3:
    case DType::kF8_E5M2: {
      for (int64_t i = 0; i < n; ++i) {
        dst[i] = t == DType::kF8_E4M3 ? f8_e4m3_to_f32(s[i]) : f8_e5m2_to_f32(s[i]);
      }
      return {};
    }
    case DType::kF64: {
      for (int64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, s + 8 * i, 8);
        dst[i] = static_cast<float>(v);
      }
      return {};
    }
    case DType::kQ4_0:
      dequant_q4_0(s, dst, nb);
      return {};
    case DType::kQ4_1:
      dequant_q4_1(s, dst, nb);
      return {};
    case DType::kQ5_0:
      dequant_q5_0(s, dst, nb);
      return {};
    case DType::kQ5_1:
      dequant_q5_1(s, dst, nb);
      return {};
    case DType::kQ8_0:
      dequant_q8_0(s, dst, nb);
      return {};
    case DType::kQ8_1:
      dequant_q8_1(s, dst, nb);
      return {};
    case DType::kQ2_K:
      dequant_q2_k(s, dst, nb);
      return {};
    case DType::kQ3_K:
      dequant_q3_k(s, dst, nb);
      return {};
    case DType::kQ4_K:
      dequant_q4_k(s, dst, nb);
      return {};
    case DType::kQ5_K:
      dequant_q5_k(s, dst, nb);
      return {};
    case DType::kQ6_K:
      dequant_q6_k(s, dst, nb);
      return {};
    case DType::kQ8_K:
      dequant_q8_k(s, dst, nb);
      return {};
    case DType::kIQ4_NL:
      dequant_iq4_nl(s, dst, nb);
      return {};
    case DType::kIQ4_XS:
      dequant_iq4_xs(s, dst, nb);
      return {};
    case DType::kTQ1_0:
      dequant_tq1_0(s, dst, nb);
      return {};
    case DType::kTQ2_0:
      dequant_tq2_0(s, dst, nb);
      return {};
    case DType::kMXFP4:
      dequant_mxfp4(s, dst, nb);
      return {};
    default:
      break;
  }
  return unsupported("no reference dequantization for " + std::string(tr.name));
}

Status dequantize_rows(const TensorView& view, int64_t row_begin, int64_t row_count, float* dst) {
  const int64_t rows = view.rows();
  if (row_begin < 0 || row_count < 0 || row_begin > rows || row_count > rows - row_begin) {
    return out_of_range("dequantize: rows [" + std::to_string(row_begin) + ", +" +
                        std::to_string(row_count) + ") outside a tensor of " +
                        std::to_string(rows) + " rows");
  }
  const int64_t cols = view.cols();
  for (int64_t r = 0; r < row_count; ++r) {
    HEARTH_RETURN_IF_ERROR(
        dequantize_row(view.dtype(), view.row_ptr(row_begin + r), dst + r * cols, cols));
  }
  return {};
}

}  // namespace hearth::reference
