#include "backend/cuda/gemm.h"

namespace hearth::cuda {

namespace {
constexpr size_t kWorkspaceBytes = 32u << 20;
}

Gemm::~Gemm() {
  if (handle_ != nullptr) (void)cublasDestroy(handle_);
}

Status Gemm::init(cudaStream_t stream) {
  HEARTH_RETURN_IF_ERROR(cublas_status(cublasCreate(&handle_), "cublasCreate"));
  HEARTH_RETURN_IF_ERROR(cublas_status(cublasSetStream(handle_, stream), "cublasSetStream"));
  HEARTH_RETURN_IF_ERROR(workspace_.allocate(kWorkspaceBytes, "the cuBLAS workspace"));
  return cublas_status(cublasSetWorkspace(handle_, workspace_.get(), workspace_.bytes()),
                       "cublasSetWorkspace");
}

Status Gemm::bf16_xwt(const void* x, const void* w, float* y, int64_t t, int64_t n, int64_t k,
                      int64_t ldy) {
  // Column-major view: Y^T [n, t] = W [k, n]^T . X^T [k, t] ("TN").
  const float alpha = 1.0f, beta = 0.0f;
  return cublas_status(
      cublasGemmEx(handle_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(t),
                   static_cast<int>(k), &alpha, w, CUDA_R_16BF, static_cast<int>(k), x, CUDA_R_16BF,
                   static_cast<int>(k), &beta, y, CUDA_R_32F, static_cast<int>(ldy),
                   CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
      "cublasGemmEx (bf16 x bf16 -> f32)");
}

}  // namespace hearth::cuda
