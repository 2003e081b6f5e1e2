#include "random_tensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "backend/reference/dequantize.h"
#include "core/fp16.h"

namespace hearth::test {
namespace {

void put_half(uint8_t* p, float v) {
  const uint16_t h = f32_to_fp16(v);
  std::memcpy(p, &h, 2);
}

float signed_uniform(std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> mag(lo, hi);
  return (rng() & 1) ? mag(rng) : -mag(rng);
}

// Offsets of the fp16 scale fields of one block, and whether the second one is a min (may be
// negative) or a dmin (kept positive, as quantizers write it).
struct ScaleFields {
  int d = -1;
  int m = -1;
};

ScaleFields scale_fields(DType t) {
  switch (t) {
    case DType::kQ4_0:
    case DType::kQ5_0:
    case DType::kQ8_0:
    case DType::kIQ4_NL:
      return {0, -1};
    case DType::kQ4_1:
    case DType::kQ5_1:
    case DType::kQ4_K:
    case DType::kQ5_K:
      return {0, 2};
    case DType::kQ6_K:
      return {208, -1};
    case DType::kQ2_K:
      return {80, 82};
    case DType::kQ3_K:
      return {108, -1};
    default:
      return {};
  }
}

}  // namespace

std::vector<float> random_floats(int64_t n, std::mt19937& rng, float scale) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = normal(rng) * ((rng() % 64 == 0) ? 8.0f : 1.0f);
  return v;
}

RandomTensor random_weight(DType dtype, int64_t rows, int64_t cols, std::mt19937& rng) {
  RandomTensor t;
  const auto row_bytes = dtype_row_bytes(dtype, static_cast<uint64_t>(cols));
  EXPECT_TRUE(row_bytes.has_value()) << dtype_name(dtype) << " cols " << cols;
  t.bytes.resize(static_cast<size_t>(row_bytes.value_or(0)) * static_cast<size_t>(rows));
  const int64_t n = rows * cols;
  switch (dtype) {
    case DType::kF32: {
      const auto v = random_floats(n, rng, 0.05f);
      std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
      break;
    }
    case DType::kF16:
    case DType::kBF16: {
      const auto v = random_floats(n, rng, 0.05f);
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = dtype == DType::kF16 ? f32_to_fp16(v[static_cast<size_t>(i)])
                                                : f32_to_bf16(v[static_cast<size_t>(i)]);
        std::memcpy(t.bytes.data() + 2 * i, &h, 2);
      }
      break;
    }
    default: {
      for (auto& b : t.bytes) b = static_cast<uint8_t>(rng());
      const DTypeTraits& tr = dtype_traits(dtype);
      const ScaleFields f = scale_fields(dtype);
      const size_t blocks = t.bytes.size() / tr.block_bytes;
      for (size_t i = 0; i < blocks; ++i) {
        uint8_t* blk = t.bytes.data() + i * tr.block_bytes;
        if (f.d >= 0) put_half(blk + f.d, signed_uniform(rng, 1e-3f, 2e-2f));
        if (f.m >= 0) {
          const bool is_dmin =
              dtype == DType::kQ4_K || dtype == DType::kQ5_K || dtype == DType::kQ2_K;
          put_half(blk + f.m, is_dmin ? std::abs(signed_uniform(rng, 1e-4f, 2e-3f))
                                      : signed_uniform(rng, 0.0f, 0.1f));
        }
      }
      break;
    }
  }
  t.view = TensorView(t.bytes.data(), dtype, Shape{rows, cols});
  return t;
}

std::vector<float> dequantized(const TensorView& w) {
  std::vector<float> out(static_cast<size_t>(w.numel()));
  const Status st = reference::dequantize_rows(w, 0, w.rows(), out.data());
  EXPECT_TRUE(st.ok()) << st.to_string();
  return out;
}

}  // namespace hearth::test
