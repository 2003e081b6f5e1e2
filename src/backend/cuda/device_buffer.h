// Owning handles for device memory (cudaMalloc) and page-locked host memory (cudaMallocHost).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>

#include "backend/cuda/cuda_check.h"

namespace hearth::cuda {

template <cudaError_t (*Free)(void*)>
class CudaMemory {
 public:
  CudaMemory() = default;
  CudaMemory(const CudaMemory&) = delete;
  CudaMemory& operator=(const CudaMemory&) = delete;
  CudaMemory(CudaMemory&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  CudaMemory& operator=(CudaMemory&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  ~CudaMemory() { reset(); }

  void reset() {
    if (ptr_ != nullptr) (void)Free(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* get() const { return ptr_; }
  // Gives up ownership: the caller frees the memory.
  void* release() {
    bytes_ = 0;
    return std::exchange(ptr_, nullptr);
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }
  bool empty() const { return ptr_ == nullptr; }

  // Replaces the memory with `bytes` new bytes (contents undefined). ResourceExhausted names
  // `what` and the bytes needed and free.
  Status allocate(size_t bytes, const std::string& what);

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

inline cudaError_t free_device(void* p) {
  return cudaFree(p);
}
inline cudaError_t free_host(void* p) {
  return cudaFreeHost(p);
}

using DeviceBuffer = CudaMemory<free_device>;
using PinnedBuffer = CudaMemory<free_host>;

std::string describe_bytes(size_t bytes);  // "1.50 GiB"
// HEARTH_CUDA_POISON=1 (a debugging switch, read once): every new device buffer is filled with
// 0xFF bytes, NaN in f32, f16 and bf16, so a kernel that reads memory nothing wrote gives NaN
// instead of whatever an earlier buffer left there.
bool poison_device_allocations();
// "<needed> needed, <free> free of <total> on the GPU"
std::string gpu_memory_note(size_t needed);

template <cudaError_t (*Free)(void*)>
Status CudaMemory<Free>::allocate(size_t bytes, const std::string& what) {
  reset();
  if (bytes == 0) return {};
  void* p = nullptr;
  cudaError_t err;
  if constexpr (Free == free_host) {
    err = cudaMallocHost(&p, bytes);
  } else {
    err = cudaMalloc(&p, bytes);
  }
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky allocation error
    if (err == cudaErrorMemoryAllocation) {
      return resource_exhausted("out of " + std::string(Free == free_host ? "pinned host" : "GPU") +
                                " memory for " + what + ": " + gpu_memory_note(bytes));
    }
    return cuda_status(err, what.c_str());
  }
  if constexpr (Free == free_device) {
    // Synchronized: the memset runs on the legacy stream, which the backend's non-blocking
    // stream does not wait for.
    if (poison_device_allocations() && ((err = cudaMemset(p, 0xFF, bytes)) != cudaSuccess ||
                                        (err = cudaDeviceSynchronize()) != cudaSuccess)) {
      (void)cudaFree(p);
      return cuda_status(err, what.c_str());
    }
  }
  ptr_ = p;
  bytes_ = bytes;
  return {};
}

}  // namespace hearth::cuda
