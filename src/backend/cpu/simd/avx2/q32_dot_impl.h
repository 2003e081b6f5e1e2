// The 32-element block dot products (Q4_0, Q4_1, Q5_0, Q5_1 with ActRowQ8x32 activations),
// shared by the AVX2 and the AVX-512 VNNI translation units: kVnni selects vpdpbusd for the byte
// products. Everything has internal linkage; include only from files compiled for AVX2 or more.
// Per four blocks, their fp16 scale words go through one vcvtph2ps (slow per instruction) and one
// multiply with the activation's (d, sum) pairs; per block, the nibbles are split with one
// variable shift of a broadcast 16-byte load, one byte multiply-add gives int32 lane sums, which
// are converted and scaled once.
#pragma once

#include "backend/cpu/kernels/act_blocks.h"
#include "backend/cpu/simd/avx2/avx2_util.h"

namespace hearth::cpu::avx2 {
namespace {

constexpr int64_t kQ4_0Bytes = 18;  // fp16 d, 16 bytes of nibbles
constexpr int64_t kQ4_1Bytes = 20;  // fp16 d, fp16 m, 16 bytes of nibbles
constexpr int64_t kQ5_0Bytes = 22;  // fp16 d, 4 bytes of fifth bits, 16 bytes of nibbles
constexpr int64_t kQ5_1Bytes = 24;  // fp16 d, fp16 m, 4 bytes of fifth bits, 16 bytes
constexpr int64_t kQ8_0Bytes = 34;  // fp16 d, 32 int8

// 16 bytes of nibbles -> 32 quants (low nibbles then high nibbles), from one broadcast load.
static inline __m256i nibbles(const uint8_t* p) {
  const __m256i q =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_and_si256(_mm256_srlv_epi64(q, _mm256_setr_epi64x(0, 0, 4, 4)),
                          _mm256_set1_epi8(0x0f));
}

static inline __m256i q5_quants(const uint8_t* qh, const uint8_t* qs) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  return _mm256_or_si256(nibbles(qs),
                         _mm256_and_si256(bits_to_bytes(bits), _mm256_set1_epi8(0x10)));
}

// The two fp16 fields at p as (p[0], p[1], 0, 0).
static inline __m128 half_pair(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, 4);
  return _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(bits)));
}

// The scale words of four blocks `bytes` apart as (d0, m0, d1, m1, ...) when the blocks have a
// min, else (d0, d0, d1, d1, ...): one vcvtph2ps for four blocks (it is slow per instruction).
template <bool kHasMin>
static inline __m256 four_scale_pairs(const uint8_t* p, int64_t bytes) {
  uint32_t w[4];
  for (int j = 0; j < 4; ++j) {
    if (kHasMin) {
      std::memcpy(&w[j], p + j * bytes, 4);
    } else {
      uint16_t d;
      std::memcpy(&d, p + j * bytes, 2);
      w[j] = static_cast<uint32_t>(d) * 0x10001u;
    }
  }
  return _mm256_cvtph_ps(_mm_setr_epi32(static_cast<int>(w[0]), static_cast<int>(w[1]),
                                        static_cast<int>(w[2]), static_cast<int>(w[3])));
}

template <bool kVnni>
static inline __m256 products(__m256i weight_u8, const int8_t* act_qs) {
  if constexpr (kVnni) {
    return _mm256_cvtepi32_ps(
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), weight_u8, load256(act_qs)));
  } else {
    return _mm256_cvtepi32_ps(dot_u8_s8(weight_u8, load256(act_qs)));
  }
}

// Formats with an offset (x = d (q - offset)): sum = d * a.d * sum(q * a.qs) - offset * d * a.sum.
// Formats with a min (x = d q + m): sum = d * a.d * sum(q * a.qs) + m * a.sum.
// The block's (d, m) or (d, d) times the activation's (a.d, a.sum): the even lane scales the
// products, the odd lanes accumulate the offset / min term.
template <int64_t kBytes, int kQuantOffset, bool kHasMin, bool kFive, bool kVnni>
static inline float dot_row(int64_t nb, const uint8_t* p, const ActRowQ8x32& act) {
  constexpr int kQsAt = (kHasMin ? 4 : 2) + (kFive ? 4 : 0);
  constexpr int kQhAt = kHasMin ? 4 : 2;
  const auto quants = [](const uint8_t* b) {
    return kFive ? q5_quants(b + kQhAt, b + kQsAt) : nibbles(b + kQsAt);
  };
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 side = _mm256_setzero_ps();
  alignas(32) float scale[8];
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    const uint8_t* b = p + i * kBytes;
    const __m256 s =
        _mm256_mul_ps(four_scale_pairs<kHasMin>(b, kBytes), _mm256_loadu_ps(act.scales + 2 * i));
    side = _mm256_add_ps(side, s);
    _mm256_store_ps(scale, s);
    const int8_t* qs = act.qs + 32 * i;
    acc0 = _mm256_fmadd_ps(_mm256_broadcast_ss(scale + 0), products<kVnni>(quants(b), qs), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_broadcast_ss(scale + 2),
                           products<kVnni>(quants(b + kBytes), qs + 32), acc1);
    acc0 = _mm256_fmadd_ps(_mm256_broadcast_ss(scale + 4),
                           products<kVnni>(quants(b + 2 * kBytes), qs + 64), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_broadcast_ss(scale + 6),
                           products<kVnni>(quants(b + 3 * kBytes), qs + 96), acc1);
  }
  _mm256_store_ps(scale, side);
  float side_sum = (scale[1] + scale[3]) + (scale[5] + scale[7]);
  for (; i < nb; ++i) {
    const uint8_t* b = p + i * kBytes;
    __m128 pair = half_pair(b);
    if (!kHasMin) pair = _mm_moveldup_ps(pair);
    const __m128 s = _mm_mul_ps(
        pair,
        _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(act.scales + 2 * i))));
    side_sum += _mm_cvtss_f32(_mm_shuffle_ps(s, s, 1));
    acc0 = _mm256_fmadd_ps(_mm256_broadcastss_ps(s), products<kVnni>(quants(b), act.qs + 32 * i),
                           acc0);
  }
  const float main = hsum(_mm256_add_ps(acc0, acc1));
  return kHasMin ? main + side_sum : main - static_cast<float>(kQuantOffset) * side_sum;
}

template <int64_t kBytes, int kQuantOffset, bool kHasMin, bool kFive, bool kVnni>
static inline void dot_rows(int64_t k, const void* w, size_t row_bytes, int64_t n_rows,
                            const void* a, float* out) {
  const auto* p = static_cast<const uint8_t*>(w);
  const ActRowQ8x32 act = act_row_q8x32(a, k);
  dot_rows_prefetched(p, row_bytes, n_rows, out, [&](const uint8_t* row) {
    return dot_row<kBytes, kQuantOffset, kHasMin, kFive, kVnni>(k / 32, row, act);
  });
}

}  // namespace
}  // namespace hearth::cpu::avx2
