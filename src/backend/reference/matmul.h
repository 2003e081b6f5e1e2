// Reference matrix multiplication by a weight of any dequantizable storage type.
#pragma once

#include <cstdint>
#include <span>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "hearth/status.h"

namespace hearth::reference {

// Floats of scratch matmul() needs for weights with `k` columns: one f32 row per thread.
int64_t matmul_scratch_floats(int64_t k, int n_threads);

// y[T, N] = x[T, K] . w[N, K]^T (+ bias[N] when not null). Each weight row is dequantized once
// into `scratch` and dotted with every row of x; output rows are split evenly over `pool`'s
// threads (single-threaded when `pool` is null). Unsupported when w's dtype cannot be
// dequantized; InvalidArgument when w is not 2-D or scratch is too small.
Status matmul(const float* x, int64_t n_tokens, const TensorView& w, const float* bias, float* y,
              std::span<float> scratch, ThreadPool* pool);

}  // namespace hearth::reference
