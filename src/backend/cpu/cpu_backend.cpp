#include "backend/cpu/cpu_backend.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "backend/cpu/op_checks.h"
#include "backend/reference/dequantize.h"
#include "backend/token_pick.h"
#include "core/checked_math.h"

namespace hearth {
namespace {

constexpr size_t kAlignment = 64;
// Elementwise ops and norms go parallel from this many elements / rows (below, a dispatch costs
// more than it saves).
constexpr int64_t kParallelElements = int64_t{1} << 16;
constexpr int64_t kParallelRows = 16;

void free_aligned(void* p) {
  std::free(p);
}

}  // namespace

Expected<std::unique_ptr<CpuBackend>> CpuBackend::create(int n_threads) {
  HEARTH_ASSIGN_OR_RETURN(const cpu::CpuIsa isa, cpu::select_isa());
  return std::make_unique<CpuBackend>(n_threads, isa);
}

CpuBackend::CpuBackend(int n_threads, cpu::CpuIsa isa)
    : kernels_(cpu::kernel_table(isa)),
      name_("cpu-" + std::string(cpu::isa_name(isa))),
      pool_(n_threads),
      matmul_(kernels_, pool_),
      attention_(kernels_, pool_) {}

int64_t CpuBackend::batched_kernel_min_tokens() const {
  return matmul_path_ == cpu::MatmulPath::kAuto ? cpu::MatmulDriver::sgemm_min_tokens() : 1;
}

template <typename Fn>
void CpuBackend::for_range(int64_t n, int64_t parallel_from, Fn&& fn) {
  if (n >= parallel_from && pool_.size() > 1) {
    pool_.parallel_for(n, parallel_from / 4 > 0 ? parallel_from / 4 : 1, fn);
  } else if (n > 0) {
    fn(0, n);
  }
}

Expected<TensorView> CpuBackend::prepare_matrix(std::string_view name, const TensorView& stored) {
  if (stored.shape().rank() != 2) {
    return invalid_argument("weight '" + std::string(name) + "' must be 2-D, got shape " +
                            stored.shape().to_string());
  }
  const bool fast = kernels_.for_type(stored.dtype()).dot != nullptr;
  if (!fast && !reference::can_dequantize(stored.dtype())) {
    return unsupported("weight '" + std::string(name) + "' has type " +
                       std::string(dtype_name(stored.dtype())) +
                       ", which the CPU backend cannot multiply by");
  }
  const cpu::ActFormat act = kernels_.for_type(stored.dtype()).act;
  const int64_t block = act == cpu::ActFormat::kQ8x32    ? 32
                        : act == cpu::ActFormat::kQ8x256 ? 256
                                                         : 1;
  if (stored.cols() % block != 0) {
    return invalid_argument("weight '" + std::string(name) + "' has " +
                            std::to_string(stored.cols()) + " columns, not a whole number of " +
                            std::string(dtype_name(stored.dtype())) + " blocks");
  }
  return stored;
}

Expected<TensorView> CpuBackend::prepare_vector(std::string_view name, const TensorView& stored) {
  if (stored.shape().rank() != 1) {
    return invalid_argument("weight '" + std::string(name) + "' must be 1-D, got shape " +
                            stored.shape().to_string());
  }
  if (!reference::can_dequantize(stored.dtype())) {
    return unsupported("weight '" + std::string(name) + "' has type " +
                       std::string(dtype_name(stored.dtype())) +
                       ", which the CPU backend cannot read");
  }
  const int64_t n = stored.numel();
  HEARTH_ASSIGN_OR_RETURN(BackendBuffer buf, allocate(static_cast<size_t>(n) * sizeof(float)));
  const Status st =
      reference::dequantize_row(stored.dtype(), stored.data(), static_cast<float*>(buf.data()), n);
  if (!st.ok()) return st.with_context("weight '" + std::string(name) + "'");
  TensorView view = buf.view(DType::kF32, Shape{n});
  owned_.push_back(std::move(buf));
  return view;
}

Expected<BackendBuffer> CpuBackend::allocate(size_t bytes) {
  if (bytes == 0) return BackendBuffer();
  const auto rounded = checked_align_up(bytes, kAlignment);
  void* p = rounded ? std::aligned_alloc(kAlignment, static_cast<size_t>(*rounded)) : nullptr;
  if (p == nullptr) {
    return resource_exhausted("out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  return BackendBuffer(p, bytes, &free_aligned);
}

Status CpuBackend::reserve_scratch(const ScratchPlan& plan) {
  if (plan.max_tokens < 0 || plan.max_matmul_inner < 0 || plan.max_attention_keys < 0 ||
      plan.max_heads < 0) {
    return invalid_argument("negative scratch plan");
  }
  HEARTH_RETURN_IF_ERROR(matmul_.reserve(plan.max_tokens, plan.max_matmul_inner));
  // All query heads of a group together are never wider than the widest matmul input
  // (q_dim = heads * head_dim), and a group has at most max_heads heads.
  HEARTH_RETURN_IF_ERROR(
      attention_.reserve(plan.max_matmul_inner + plan.max_heads * (cpu::kAttentionKeyBlock + 2)));
  rope_.reserve(plan.max_tokens, plan.max_matmul_inner / 2);
  return {};
}

Status CpuBackend::embedding(const TensorView& table, std::span<const int32_t> tokens,
                             const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(cpu::check_f32(out, 2, "embedding output"));
  if (table.shape().rank() != 2 || out.shape()[0] != static_cast<int64_t>(tokens.size()) ||
      out.cols() != table.cols() || (table.empty() && table.numel() != 0)) {
    return cpu::shape_mismatch("embedding", "table", table.shape(), "output", out.shape());
  }
  const int64_t vocab = table.rows();
  const int64_t dim = table.cols();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      return out_of_range("token id " + std::to_string(tokens[i]) + " at index " +
                          std::to_string(i) + " is outside the vocabulary of " +
                          std::to_string(vocab) + " tokens");
    }
  }
  const cpu::DequantRowFn fast = kernels_.for_type(table.dtype()).dequant;
  float* dst = out.data_as<float>();
  for (size_t i = 0; i < tokens.size(); ++i) {
    float* row = dst + static_cast<int64_t>(i) * dim;
    if (table.dtype() == DType::kF32) {
      std::memcpy(row, table.row_ptr(tokens[i]), static_cast<size_t>(dim) * sizeof(float));
    } else if (fast != nullptr) {
      fast(table.row_ptr(tokens[i]), row, dim);
    } else {
      HEARTH_RETURN_IF_ERROR(
          reference::dequantize_row(table.dtype(), table.row_ptr(tokens[i]), row, dim));
    }
  }
  return {};
}

Status CpuBackend::matmul(const TensorView& x, const TensorView& w, const TensorView* bias,
                          const TensorView& y) {
  HEARTH_RETURN_IF_ERROR(cpu::check_matmul(x, w, bias, y));
  const cpu::MatmulJob job{&w, bias ? bias->data_as<const float>() : nullptr, y.data_as<float>()};
  return matmul_.run(x.data_as<const float>(), x.rows(), x.cols(), std::span(&job, 1),
                     matmul_path_);
}

Status CpuBackend::matmul_shared_input(const TensorView& x, std::span<const MatmulTarget> targets) {
  constexpr size_t kMaxTargets = 8;
  if (targets.size() > kMaxTargets) {
    return invalid_argument("matmul_shared_input: " + std::to_string(targets.size()) +
                            " weights, at most " + std::to_string(kMaxTargets));
  }
  cpu::MatmulJob jobs[kMaxTargets];
  for (size_t i = 0; i < targets.size(); ++i) {
    const MatmulTarget& t = targets[i];
    if (t.weight == nullptr) return invalid_argument("matmul_shared_input: a target has no weight");
    HEARTH_RETURN_IF_ERROR(cpu::check_matmul(x, *t.weight, t.bias, t.out));
    jobs[i] = {t.weight, t.bias ? t.bias->data_as<const float>() : nullptr, t.out.data_as<float>()};
  }
  return matmul_.run(x.data_as<const float>(), x.rows(), x.cols(), std::span(jobs, targets.size()),
                     matmul_path_);
}

Status CpuBackend::matmul_swiglu(const TensorView& x, const TensorView& gate, const TensorView& up,
                                 const TensorView& up_out, const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(cpu::check_matmul(x, gate, nullptr, out));
  HEARTH_RETURN_IF_ERROR(cpu::check_matmul(x, up, nullptr, out));
  (void)up_out;  // the fused kernel needs no room for x . up^T
  return matmul_.run_swiglu(x.data_as<const float>(), x.rows(), x.cols(), gate, up,
                            out.data_as<float>(), matmul_path_);
}

Status CpuBackend::rms_norm(const TensorView& x, const TensorView& weight, float eps,
                            const TensorView& y) {
  HEARTH_RETURN_IF_ERROR(cpu::check_same_f32_elements("rms_norm", x, y));
  if (weight.dtype() != DType::kF32 || weight.numel() != x.cols() || y.cols() != x.cols() ||
      weight.empty()) {
    return cpu::shape_mismatch("rms_norm", "input", x.shape(), "weight", weight.shape());
  }
  const int64_t dim = x.cols();
  const float* xs = x.data_as<const float>();
  const float* w = weight.data_as<const float>();
  float* ys = y.data_as<float>();
  for_range(x.rows(), kParallelRows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = xs + r * dim;
      const double mean_sq = static_cast<double>(kernels_.sum_squares(xr, dim)) /
                             static_cast<double>(dim > 0 ? dim : 1);
      const auto scale = static_cast<float>(1.0 / std::sqrt(mean_sq + static_cast<double>(eps)));
      kernels_.scale_mul(xr, scale, w, ys + r * dim, dim);
    }
  });
  return {};
}

Status CpuBackend::rope(const TensorView& x, std::span<const int32_t> positions,
                        const RopeSpec& spec) {
  HEARTH_RETURN_IF_ERROR(cpu::check_f32(x, 3, "rope input"));
  if (x.shape()[0] != static_cast<int64_t>(positions.size())) {
    return invalid_argument("rope: " + std::to_string(positions.size()) + " positions for input " +
                            x.shape().to_string());
  }
  return rope_.apply(x.data_as<float>(), x.shape()[1], x.shape()[2], positions, spec, pool_);
}

Status CpuBackend::attention(const TensorView& q, const TensorView& k, const TensorView& v,
                             std::span<const int32_t> positions, float scale,
                             const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(cpu::check_attention(q, k, v, positions, out));
  const cpu::AttentionShape shape{q.shape()[0], q.shape()[1], k.shape()[1], q.shape()[2],
                                  k.shape()[0]};
  return attention_.run(q.data_as<const float>(), k.data_as<const float>(),
                        v.data_as<const float>(), shape, positions.data(), scale,
                        out.data_as<float>());
}

Status CpuBackend::swiglu(const TensorView& gate, const TensorView& up, const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(cpu::check_same_f32_elements("swiglu", gate, out));
  HEARTH_RETURN_IF_ERROR(cpu::check_same_f32_elements("swiglu", up, out));
  const float* g = gate.data_as<const float>();
  const float* u = up.data_as<const float>();
  float* o = out.data_as<float>();
  for_range(out.numel(), kParallelElements,
            [&](int64_t b, int64_t e) { kernels_.swiglu(g + b, u + b, o + b, e - b); });
  return {};
}

Status CpuBackend::add(const TensorView& a, const TensorView& b, const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(cpu::check_same_f32_elements("add", a, out));
  HEARTH_RETURN_IF_ERROR(cpu::check_same_f32_elements("add", b, out));
  const float* pa = a.data_as<const float>();
  const float* pb = b.data_as<const float>();
  float* o = out.data_as<float>();
  for_range(out.numel(), kParallelElements,
            [&](int64_t s, int64_t e) { kernels_.add(pa + s, pb + s, o + s, e - s); });
  return {};
}

Status CpuBackend::copy(const TensorView& src, const TensorView& dst) {
  if (src.dtype() != dst.dtype() || src.numel() != dst.numel()) {
    return cpu::shape_mismatch("copy", std::string(dtype_name(src.dtype())) + " source",
                               src.shape(), std::string(dtype_name(dst.dtype())) + " destination",
                               dst.shape());
  }
  if (src.nbytes() > 0) {
    if (src.empty() || dst.empty()) return invalid_argument("copy: a tensor has no data");
    std::memmove(dst.data(), src.data(), src.nbytes());
  }
  return {};
}

Status CpuBackend::read(const TensorView& src, std::span<float> dst) {
  if (src.dtype() != DType::kF32 || static_cast<int64_t>(dst.size()) != src.numel()) {
    return invalid_argument("read: " + std::to_string(dst.size()) +
                            " host floats for a tensor of shape " + src.shape().to_string());
  }
  if (src.numel() > 0) {
    if (src.empty()) return invalid_argument("read: the tensor has no data");
    std::memcpy(dst.data(), src.data(), src.nbytes());
  }
  return {};
}

Expected<int32_t> CpuBackend::pick_token(const TensorView& logits, const TokenPick& pick) {
  if (logits.dtype() != DType::kF32 || (logits.empty() && logits.numel() != 0)) {
    return invalid_argument("pick_token: logits must be f32");
  }
  return pick_token_on_host(
      std::span<const float>(logits.data_as<const float>(), static_cast<size_t>(logits.numel())),
      pick);
}

}  // namespace hearth
