// Empty CUDA backend: proves the toolchain builds; device code comes with the CUDA issue.
#include <cuda_runtime.h>

namespace hearth::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

}  // namespace hearth::cuda
