// Random tensors of every storage type for the CPU parity tests: quant blocks are random bytes
// (every bit pattern of the quants and sub-block scales occurs) with their fp16 / f32 scale
// fields set to realistic finite values.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace hearth::test {

// Owns the bytes of a random [rows, cols] tensor of `dtype`.
struct RandomTensor {
  std::vector<uint8_t> bytes;
  TensorView view;
};

RandomTensor random_weight(DType dtype, int64_t rows, int64_t cols, std::mt19937& rng);

// n floats ~ N(0, 1), a few of them (1 in 64) scaled by 8 to mimic activation outliers.
std::vector<float> random_floats(int64_t n, std::mt19937& rng, float scale = 1.0f);

// The reference dequantization of a whole weight, [rows * cols].
std::vector<float> dequantized(const TensorView& w);

}  // namespace hearth::test
