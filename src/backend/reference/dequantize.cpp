#include "backend/reference/dequantize.h"

#include <cstring>
#include <string>

#include "core/fp16.h"
#include "core/quant_blocks.h"

namespace hearth::reference {
namespace {

void dequant_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = fp16_to_f32(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * static_cast<float>((b[i].qs[j] & 0x0f) - 8);
      y[j + kQK / 2] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
    }
  }
}

void dequant_q4_1(const BlockQ4_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = fp16_to_f32(b[i].d);
    const float m = fp16_to_f32(b[i].m);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * static_cast<float>(b[i].qs[j] & 0x0f) + m;
      y[j + kQK / 2] = d * static_cast<float>(b[i].qs[j] >> 4) + m;
    }
  }
}

void dequant_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = fp16_to_f32(b[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

}  // namespace

bool can_dequantize(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ8_0: return true;
    default: return false;
  }
}

Status dequantize_row(DType t, const void* src, float* dst, int64_t n) {
  const DTypeTraits& tr = dtype_traits(t);
  if (n < 0 || n % tr.block_elems != 0) {
    return invalid_argument("dequantize: " + std::to_string(n) + " elements is not a whole " +
                            "number of " + std::string(tr.name) + " blocks");
  }
  const int64_t nb = n / tr.block_elems;
  switch (t) {
    case DType::kF32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return {};
    case DType::kF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(h[i]);
      return {};
    }
    case DType::kBF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      return {};
    }
    case DType::kQ4_0: dequant_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb); return {};
    case DType::kQ4_1: dequant_q4_1(static_cast<const BlockQ4_1*>(src), dst, nb); return {};
    case DType::kQ8_0: dequant_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb); return {};
    default: break;
  }
  return unsupported("no reference dequantization for " + std::string(tr.name));
}

}  // namespace hearth::reference
