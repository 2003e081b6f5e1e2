// Matrix multiplication by a stored weight on the CPU, threaded over output rows:
//  - few tokens (decode): the activation rows are quantized once to the weight type's 8-bit
//    partner format and every weight row is streamed once through the integer dot kernel, for
//    all tokens while it is in L1;
//  - many tokens (prefill): panels of weight rows are dequantized to f32 in a per-thread buffer
//    that stays in L2 and multiplied by the batch-invariant GEMM of the kernel table (each
//    element's rounding independent of the chunk size; OpenBLAS sgemm with
//    HEARTH_CPU_GEMM=openblas), one panel per call; the panels are what is parallel.
// Several weights that share the input (q/k/v, gate/up) run as one job list: one quantization of
// the input and one parallel region. Nothing is allocated per call once reserve() has run.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/cpu/kernels/kernel_table.h"
#include "core/aligned_buffer.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "hearth/status.h"

namespace hearth::cpu {

// y[T, N] = x[T, K] . weight[N, K]^T (+ bias[N])
struct MatmulJob {
  const TensorView* weight = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
};

// Which algorithm ran (for tests and the bench's per-shape measurements).
enum class MatmulPath : uint8_t { kAuto, kQuantizedDot, kDequantSgemm };

class MatmulDriver {
 public:
  MatmulDriver(const KernelTable& kernels, ThreadPool& pool);

  // Sizes the scratch for inputs of up to `max_tokens` rows of up to `max_k` columns. Calls with
  // larger inputs grow it once (a one-time allocation).
  Status reserve(int64_t max_tokens, int64_t max_k);

  // Every job on the same x[T, K]. The jobs' weights must be 2-D with K columns (checked by the
  // caller) and of a type kernels or the reference can dequantize.
  Status run(const float* x, int64_t n_tokens, int64_t k, std::span<const MatmulJob> jobs,
             MatmulPath path = MatmulPath::kAuto);

  // out[T, N] = silu(x . gate^T) * (x . up^T), gate and up [N, K], without a separate pass.
  Status run_swiglu(const float* x, int64_t n_tokens, int64_t k, const TensorView& gate,
                    const TensorView& up, float* out, MatmulPath path = MatmulPath::kAuto);

  // Token count from which the sgemm path is taken (measured; see docs/PERFORMANCE.md).
  static int64_t sgemm_min_tokens();

 private:
  MatmulPath choose(int64_t n_tokens) const;
  Status quantize_input(const float* x, int64_t n_tokens, int64_t k,
                        std::span<const MatmulJob> jobs);
  const void* act_row(ActFormat format, const float* x, int64_t t, int64_t k) const;
  Status run_dots(const float* x, int64_t n_tokens, int64_t k, std::span<const MatmulJob> jobs,
                  float* swiglu_out);
  Status run_sgemm(const float* x, int64_t n_tokens, int64_t k, std::span<const MatmulJob> jobs,
                   float* swiglu_out);
  Status ensure(AlignedBuffer& buf, size_t bytes);

  const KernelTable& kernels_;
  ThreadPool& pool_;
  AlignedBuffer act_q8x32_;   // T rows of act_row_q8x32_bytes(K)
  AlignedBuffer act_q8x256_;  // [T, K/256] ActQ8x256
  AlignedBuffer panels_;      // per thread: [kPanelRows, K] f32 weights + [T, kPanelRows] tile
  AlignedBuffer rows_;        // per thread: [K] f32, a dequantized row for types with no kernel
  int64_t panel_floats_per_thread_ = 0;
};

}  // namespace hearth::cpu
