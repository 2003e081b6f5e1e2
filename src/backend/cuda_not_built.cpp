// make_cuda_backend() of a build without -DHEARTH_CUDA=ON.
#include "backend/backend_factory.h"

namespace hearth {

bool cuda_backend_built() { return false; }

Expected<std::unique_ptr<Backend>> make_cuda_backend(int device) {
  (void)device;
  return unsupported(
      "this hearth was built without the CUDA backend; rebuild with -DHEARTH_CUDA=ON (cmake "
      "--preset cuda) to use --device cuda");
}

}  // namespace hearth
