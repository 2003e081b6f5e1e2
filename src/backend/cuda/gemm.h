// Prefill matrix products on tensor cores through cuBLAS: y[T, N] (f32) = x[T, K] . W[N, K]^T
// with x and W in bf16 and f32 accumulation.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/device_buffer.h"
#include "hearth/status.h"

namespace hearth::cuda {

class Gemm {
 public:
  Gemm() = default;
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;
  ~Gemm();

  Status init(cudaStream_t stream);
  // y [T, ldy] at column offset already applied by the caller: rows of W `w` [n, k] (bf16,
  // row-major), x [t, k] bf16, y row stride `ldy` floats.
  Status bf16_xwt(const void* x, const void* w, float* y, int64_t t, int64_t n, int64_t k,
                  int64_t ldy);

 private:
  cublasHandle_t handle_ = nullptr;
  DeviceBuffer workspace_;
};

}  // namespace hearth::cuda
