#include "backend/cpu/kernels/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "backend/cpu/kernels/act_blocks.h"
#include "backend/reference/dequantize.h"

namespace hearth::cpu {
namespace {

// Weight rows dequantized per sgemm call: 64 rows of K <= 2048 floats stay within L2 together
// with the tile of results.
constexpr int64_t kPanelRows = 64;
// Rows handled between two looks at the shared work counter in the dot path are a multiple of
// this (keeps the swiglu stack buffer small and the chunks cache-line friendly).
constexpr int64_t kRowGroup = 16;
// The smallest share of weight bytes one claim of the dot path takes: ~1-2 us of work, so the
// counter's cache line (which moves between cores on every claim) costs a few percent at most.
constexpr int64_t kMinClaimBytes = 32 * 1024;

// Guided self-scheduling over [0, total): each claim takes a share of what is left (large
// early, small at the end, never below `min_chunk`), so threads meet at the end within one
// small chunk after only O(threads * log(total / min_chunk)) claims of the shared counter.
class GuidedCounter {
 public:
  GuidedCounter(int64_t total, int64_t min_chunk, int threads, int64_t align)
      : total_(total),
        min_chunk_(min_chunk),
        divisor_(2 * static_cast<int64_t>(threads)),
        align_(align) {}

  bool claim(int64_t& begin, int64_t& end) {
    int64_t b = next_.load(std::memory_order_relaxed);
    for (;;) {
      if (b >= total_) return false;
      int64_t size = std::max(min_chunk_, (total_ - b) / divisor_);
      size = (size + align_ - 1) / align_ * align_;
      const int64_t e = std::min(total_, b + size);
      if (next_.compare_exchange_weak(b, e, std::memory_order_relaxed)) {
        begin = b;
        end = e;
        return true;
      }
    }
  }

 private:
  std::atomic<int64_t> next_{0};
  const int64_t total_, min_chunk_, divisor_, align_;
};
// Most weights one input may be multiplied by in a single call.
constexpr size_t kMaxJobs = 8;

int64_t read_sgemm_min_tokens() {
  // Measured on AVX2 (docs/PERFORMANCE.md): below this many tokens the integer dot kernels win.
  constexpr int64_t kDefault = 16;
  if (const char* env = std::getenv("HEARTH_CPU_SGEMM_MIN_TOKENS")) {
    const long v = std::strtol(env, nullptr, 10);
    if (v > 0) return v;
  }
  return kDefault;
}

// HEARTH_CPU_GEMM=openblas multiplies the panels with OpenBLAS's sgemm instead of the
// batch-invariant kernel (faster on some CPUs, but its rounding depends on the chunk size).
bool read_use_openblas() {
  const char* env = std::getenv("HEARTH_CPU_GEMM");
  return env != nullptr && std::string(env) == "openblas";
}

size_t act_row_bytes(ActFormat format, int64_t k) {
  switch (format) {
    case ActFormat::kQ8x32:
      return act_row_q8x32_bytes(k);
    case ActFormat::kQ8x256:
      return static_cast<size_t>(k / kAct256) * sizeof(ActQ8x256);
    default:
      return 0;
  }
}

void dequantize_row(const KernelTable& kernels, const TensorView& w, int64_t row, float* out) {
  const WeightKernels& wk = kernels.for_type(w.dtype());
  if (wk.dequant != nullptr) {
    wk.dequant(w.row_ptr(row), out, w.cols());
  } else {
    // Validated at prepare time: the reference handles every type that reaches here.
    (void)reference::dequantize_row(w.dtype(), w.row_ptr(row), out, w.cols());
  }
}

}  // namespace

MatmulDriver::MatmulDriver(const KernelTable& kernels, ThreadPool& pool)
    : kernels_(kernels), pool_(pool) {
  // Panels are the parallel unit; OpenBLAS must not start threads of its own under ours.
  openblas_set_num_threads(1);
}

int64_t MatmulDriver::sgemm_min_tokens() {
  static const int64_t value = read_sgemm_min_tokens();
  return value;
}

Status MatmulDriver::ensure(AlignedBuffer& buf, size_t bytes) {
  if (buf.size() >= bytes) return {};
  HEARTH_ASSIGN_OR_RETURN(buf, AlignedBuffer::allocate(bytes));
  return {};
}

Status MatmulDriver::reserve(int64_t max_tokens, int64_t max_k) {
  // Far above any model (65536 tokens per step, 1M-wide layers); keeps the sizes below exact.
  constexpr int64_t kMaxTokens = int64_t{1} << 20;
  constexpr int64_t kMaxK = int64_t{1} << 24;
  if (max_tokens < 0 || max_k < 0 || max_tokens > kMaxTokens || max_k > kMaxK) {
    return invalid_argument("matmul scratch for " + std::to_string(max_tokens) + " tokens of " +
                            std::to_string(max_k) + " columns is out of range");
  }
  const auto threads = static_cast<size_t>(pool_.size());
  const auto tokens = static_cast<size_t>(max_tokens);
  const auto k = static_cast<size_t>(max_k);
  HEARTH_RETURN_IF_ERROR(ensure(act_q8x32_, tokens * act_row_bytes(ActFormat::kQ8x32, max_k)));
  HEARTH_RETURN_IF_ERROR(ensure(act_q8x256_, tokens * act_row_bytes(ActFormat::kQ8x256, max_k)));
  HEARTH_RETURN_IF_ERROR(ensure(rows_, threads * k * sizeof(float)));
  const auto panel = static_cast<int64_t>(kPanelRows * (k + tokens));
  if (panel > panel_floats_per_thread_) {
    HEARTH_RETURN_IF_ERROR(ensure(panels_, static_cast<size_t>(panel) * threads * sizeof(float)));
    panel_floats_per_thread_ = panel;
  }
  return {};
}

MatmulPath MatmulDriver::choose(int64_t n_tokens) const {
  return n_tokens >= sgemm_min_tokens() ? MatmulPath::kDequantSgemm : MatmulPath::kQuantizedDot;
}

Status MatmulDriver::run(const float* x, int64_t n_tokens, int64_t k,
                         std::span<const MatmulJob> jobs, MatmulPath path) {
  if (n_tokens <= 0 || jobs.empty()) return {};
  HEARTH_RETURN_IF_ERROR(reserve(n_tokens, k));
  if (path == MatmulPath::kAuto) path = choose(n_tokens);
  return path == MatmulPath::kDequantSgemm ? run_sgemm(x, n_tokens, k, jobs, nullptr)
                                           : run_dots(x, n_tokens, k, jobs, nullptr);
}

Status MatmulDriver::run_swiglu(const float* x, int64_t n_tokens, int64_t k, const TensorView& gate,
                                const TensorView& up, float* out, MatmulPath path) {
  if (n_tokens <= 0) return {};
  HEARTH_RETURN_IF_ERROR(reserve(n_tokens, k));
  const MatmulJob jobs[2] = {{&gate, nullptr, out}, {&up, nullptr, nullptr}};
  if (path == MatmulPath::kAuto) path = choose(n_tokens);
  return path == MatmulPath::kDequantSgemm ? run_sgemm(x, n_tokens, k, jobs, out)
                                           : run_dots(x, n_tokens, k, jobs, out);
}

Status MatmulDriver::quantize_input(const float* x, int64_t n_tokens, int64_t k,
                                    std::span<const MatmulJob> jobs) {
  bool need32 = false, need256 = false;
  for (const MatmulJob& job : jobs) {
    const ActFormat f = kernels_.for_type(job.weight->dtype()).act;
    need32 |= f == ActFormat::kQ8x32;
    need256 |= f == ActFormat::kQ8x256;
  }
  const size_t row32 = act_row_bytes(ActFormat::kQ8x32, k);
  const size_t row256 = act_row_bytes(ActFormat::kQ8x256, k);
  for (int64_t t = 0; t < n_tokens; ++t) {
    if (need32) {
      kernels_.quantize_q8x32(x + t * k, act_q8x32_.as<std::byte>() + t * row32, k);
    }
    if (need256) {
      kernels_.quantize_q8x256(x + t * k, act_q8x256_.as<std::byte>() + t * row256, k);
    }
  }
  return {};
}

const void* MatmulDriver::act_row(ActFormat format, const float* x, int64_t t, int64_t k) const {
  switch (format) {
    case ActFormat::kQ8x32:
      return act_q8x32_.as<std::byte>() + t * act_row_bytes(format, k);
    case ActFormat::kQ8x256:
      return act_q8x256_.as<std::byte>() + t * act_row_bytes(format, k);
    default:
      return x + t * k;
  }
}

Status MatmulDriver::run_dots(const float* x, int64_t n_tokens, int64_t k,
                              std::span<const MatmulJob> jobs, float* swiglu_out) {
  HEARTH_RETURN_IF_ERROR(quantize_input(x, n_tokens, k, jobs));
  // Rows of all jobs form one list (for swiglu: the gate's rows, each paired with up's).
  int64_t total_rows = 0;
  if (swiglu_out != nullptr) {
    total_rows = jobs[0].weight->rows();
  } else {
    for (const MatmulJob& job : jobs) total_rows += job.weight->rows();
  }
  const auto row_bytes = static_cast<int64_t>(std::max<uint64_t>(1, jobs[0].weight->row_bytes()));
  GuidedCounter counter(total_rows, std::max<int64_t>(kRowGroup, kMinClaimBytes / row_bytes),
                        pool_.size(), kRowGroup);

  // y[t - t0, r - r0] for rows [r0, r1) and tokens [t0, t1) of one job: the dot kernel runs
  // the rows once per token (they stay in L1/L2 after the first); types without a kernel go
  // through a dequantized row and the f32 dot.
  const auto job_rows = [&](const MatmulJob& job, int64_t r0, int64_t r1, int64_t t0, int64_t t1,
                            float* y, int64_t ldy, float* row_buf) {
    const TensorView& w = *job.weight;
    const WeightKernels& wk = kernels_.for_type(w.dtype());
    if (wk.dot != nullptr) {
      for (int64_t t = t0; t < t1; ++t) {
        float* yt = y + (t - t0) * ldy;
        wk.dot(k, w.row_ptr(r0), w.row_bytes(), r1 - r0, act_row(wk.act, x, t, k), yt);
        if (job.bias != nullptr) kernels_.add(yt, job.bias + r0, yt, r1 - r0);
      }
      return;
    }
    for (int64_t r = r0; r < r1; ++r) {
      const float b = job.bias ? job.bias[r] : 0.0f;
      dequantize_row(kernels_, w, r, row_buf);
      for (int64_t t = t0; t < t1; ++t) {
        y[(t - t0) * ldy + (r - r0)] = kernels_.dot_f32(row_buf, x + t * k, k) + b;
      }
    }
  };

  pool_.run_dynamic([&](int thread, int) {
    float* row_buf = rows_.as<float>() + static_cast<int64_t>(thread) * k;
    int64_t begin = 0, end = 0;
    while (counter.claim(begin, end)) {
      if (swiglu_out != nullptr) {
        // gate rows straight into the output, the matching up rows into a small buffer, then
        // silu(gate) * up in place while both are in L1
        constexpr int64_t kTokenGroup = 8;
        const int64_t n = total_rows;
        float ups[kTokenGroup * kRowGroup];
        for (int64_t g = begin; g < end; g += kRowGroup) {
          const int64_t g_end = std::min(end, g + kRowGroup);
          for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenGroup) {
            const int64_t t1 = std::min(n_tokens, t0 + kTokenGroup);
            job_rows(jobs[0], g, g_end, t0, t1, swiglu_out + t0 * n + g, n, row_buf);
            job_rows(jobs[1], g, g_end, t0, t1, ups, kRowGroup, row_buf);
            for (int64_t t = t0; t < t1; ++t) {
              float* o = swiglu_out + t * n + g;
              kernels_.swiglu(o, ups + (t - t0) * kRowGroup, o, g_end - g);
            }
          }
        }
        continue;
      }
      // Map the global row range onto the jobs it covers.
      int64_t offset = 0;
      for (const MatmulJob& job : jobs) {
        const int64_t n = job.weight->rows();
        const int64_t lo = std::max(begin, offset), hi = std::min(end, offset + n);
        if (lo < hi) {
          job_rows(job, lo - offset, hi - offset, 0, n_tokens, job.y + (lo - offset), n, row_buf);
        }
        offset += n;
      }
    }
  });
  return {};
}

Status MatmulDriver::run_sgemm(const float* x, int64_t n_tokens, int64_t k,
                               std::span<const MatmulJob> jobs, float* swiglu_out) {
  // Work items are panels of kPanelRows weight rows; for swiglu a panel covers the same rows of
  // gate and up.
  if (jobs.size() > kMaxJobs) {
    return invalid_argument("matmul: at most " + std::to_string(kMaxJobs) +
                            " weights share one input, got " + std::to_string(jobs.size()));
  }
  const size_t n_jobs = swiglu_out != nullptr ? 1 : jobs.size();
  int64_t panel_count[kMaxJobs] = {};
  int64_t total = 0;
  for (size_t j = 0; j < n_jobs; ++j) {
    panel_count[j] = (jobs[j].weight->rows() + kPanelRows - 1) / kPanelRows;
    total += panel_count[j];
  }
  std::atomic<int64_t> next{0};
  static const bool use_openblas = read_use_openblas();
  const auto gemm = [&](const float* w_panel, int64_t rows, float* y, int64_t ldy) {
    if (!use_openblas) {
      kernels_.gemm_nt(x, k, n_tokens, w_panel, rows, k, y, ldy);
      return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(n_tokens),
                static_cast<blasint>(rows), static_cast<blasint>(k), 1.0f, x,
                static_cast<blasint>(k), w_panel, static_cast<blasint>(k), 0.0f, y,
                static_cast<blasint>(ldy));
  };
  // Rows [r0, r0 + rows) of w as f32: in place for f32 weights, else dequantized into `buf`.
  const auto panel_of = [&](const TensorView& w, int64_t r0, int64_t rows, float* buf) {
    if (w.dtype() == DType::kF32)
      return static_cast<const float*>(static_cast<const void*>(w.row_ptr(r0)));
    for (int64_t r = 0; r < rows; ++r) dequantize_row(kernels_, w, r0 + r, buf + r * k);
    return static_cast<const float*>(buf);
  };

  pool_.run_dynamic([&](int thread, int) {
    float* panel = panels_.as<float>() + static_cast<int64_t>(thread) * panel_floats_per_thread_;
    float* tile = panel + kPanelRows * k;  // [T, kPanelRows]
    for (;;) {
      int64_t item = next.fetch_add(1, std::memory_order_relaxed);
      if (item >= total) break;
      size_t j = 0;
      while (item >= panel_count[j]) item -= panel_count[j++];
      const TensorView& w = *jobs[j].weight;
      const int64_t n = w.rows();
      const int64_t r0 = item * kPanelRows;
      const int64_t rows = std::min(kPanelRows, n - r0);
      if (swiglu_out != nullptr) {
        gemm(panel_of(w, r0, rows, panel), rows, swiglu_out + r0, n);
        gemm(panel_of(*jobs[1].weight, r0, rows, panel), rows, tile, rows);
        for (int64_t t = 0; t < n_tokens; ++t) {
          float* o = swiglu_out + t * n + r0;
          kernels_.swiglu(o, tile + t * rows, o, rows);
        }
        continue;
      }
      float* y = jobs[j].y + r0;
      gemm(panel_of(w, r0, rows, panel), rows, y, n);
      if (jobs[j].bias != nullptr) {
        for (int64_t t = 0; t < n_tokens; ++t) {
          kernels_.add(y + t * n, jobs[j].bias + r0, y + t * n, rows);
        }
      }
    }
  });
  return {};
}

}  // namespace hearth::cpu
