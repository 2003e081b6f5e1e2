// make_cuda_backend() of a build with -DHEARTH_CUDA=ON. Environment switches for measurements:
// HEARTH_CUDA_GRAPHS=0 (no recorded decode steps), HEARTH_CUDA_PDL=0 (no programmatic dependent
// launch), HEARTH_CUDA_BF16_CACHE=0 (dequantize weights per prefill GEMM).
#include <cstdlib>
#include <cstring>

#include "backend/backend_factory.h"
#include "backend/cuda/cuda_backend.h"

namespace hearth {
namespace {

bool env_off(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, "0") == 0;
}

}  // namespace

bool cuda_backend_built() { return true; }

Expected<std::unique_ptr<Backend>> make_cuda_backend(int device) {
  cuda::CudaBackendOptions options;
  options.device = device;
  options.graphs = !env_off("HEARTH_CUDA_GRAPHS");
  options.pdl = !env_off("HEARTH_CUDA_PDL");
  options.cache_bf16 = !env_off("HEARTH_CUDA_BF16_CACHE");
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<cuda::CudaBackend> backend,
                          cuda::CudaBackend::create(options));
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace hearth
