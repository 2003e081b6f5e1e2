// Backends that are compiled in only on request. The CUDA backend exists with -DHEARTH_CUDA=ON;
// without it make_cuda_backend() answers that it was not built in, so callers (load_model, the
// CLI) never need to know how hearth was built.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "hearth/status.h"

namespace hearth {

// True when this build has the CUDA backend.
bool cuda_backend_built();

// The CUDA backend on GPU `device`. Unsupported when hearth was built without CUDA;
// FailedPrecondition when no usable GPU is present (naming the CUDA error).
Expected<std::unique_ptr<Backend>> make_cuda_backend(int device = 0);

}  // namespace hearth
