#include "backend/reference/matmul.h"

#include <atomic>
#include <string>

#include "backend/reference/dequantize.h"
#include "backend/reference/dot.h"

namespace hearth::reference {

int64_t matmul_scratch_floats(int64_t k, int n_threads) {
  return k * static_cast<int64_t>(n_threads < 1 ? 1 : n_threads);
}

Status matmul(const float* x, int64_t n_tokens, const TensorView& w, const float* bias, float* y,
              std::span<float> scratch, ThreadPool* pool) {
  if (w.shape().rank() != 2) {
    return invalid_argument("matmul weight must be 2-D, got shape " + w.shape().to_string());
  }
  if (!can_dequantize(w.dtype())) {
    return unsupported("matmul: no reference kernel for weights of type " +
                       std::string(dtype_name(w.dtype())));
  }
  const int64_t k = w.cols();
  const int64_t n = w.rows();
  const int n_threads = pool ? pool->size() : 1;
  if (static_cast<int64_t>(scratch.size()) < matmul_scratch_floats(k, n_threads)) {
    return invalid_argument("matmul scratch holds " + std::to_string(scratch.size()) +
                            " floats, needs " +
                            std::to_string(matmul_scratch_floats(k, n_threads)));
  }
  if (n_tokens <= 0 || n == 0) return {};

  std::atomic<bool> failed{false};
  auto work = [&](int thread, int threads) {
    float* row = scratch.data() + static_cast<int64_t>(thread) * k;
    const int64_t begin = n * thread / threads;
    const int64_t end = n * (thread + 1) / threads;
    for (int64_t r = begin; r < end; ++r) {
      if (!dequantize_row(w.dtype(), w.row_ptr(r), row, k).ok()) {
        failed.store(true, std::memory_order_relaxed);
        return;
      }
      const float b = bias ? bias[r] : 0.0f;
      for (int64_t t = 0; t < n_tokens; ++t) y[t * n + r] = dot_f32(x + t * k, row, k) + b;
    }
  };
  if (pool) {
    pool->run(work);
  } else {
    work(0, 1);
  }
  if (failed.load()) {
    return internal_error("matmul: dequantizing a " + std::string(dtype_name(w.dtype())) +
                          " row failed");
  }
  return {};
}

}  // namespace hearth::reference
