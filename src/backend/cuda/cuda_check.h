// CUDA and cuBLAS error codes -> Status, with the call that failed named in the message.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "hearth/status.h"

namespace hearth::cuda {

inline Status cuda_status(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return {};
  const StatusCode code =
      err == cudaErrorMemoryAllocation ? StatusCode::kResourceExhausted : StatusCode::kInternal;
  return Status(code, std::string("CUDA error in ") + what + ": " + cudaGetErrorName(err) + " (" +
                          cudaGetErrorString(err) + ")");
}

inline Status cublas_status(cublasStatus_t err, const char* what) {
  if (err == CUBLAS_STATUS_SUCCESS) return {};
  return internal_error(std::string("cuBLAS error in ") + what + ": " + cublasGetStatusName(err) +
                        " (" + cublasGetStatusString(err) + ")");
}

// A kernel launch: the launch's own error, then any error the launch left behind.
inline Status launch_status(cudaError_t err, const char* kernel) {
  if (err == cudaSuccess) err = cudaGetLastError();
  return cuda_status(err, kernel);
}

}  // namespace hearth::cuda

#define HEARTH_CUDA_RETURN_IF_ERROR(call) \
  HEARTH_RETURN_IF_ERROR(::hearth::cuda::cuda_status((call), #call))
