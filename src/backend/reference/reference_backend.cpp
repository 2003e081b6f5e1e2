#include "backend/reference/reference_backend.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "backend/reference/activation.h"
#include "backend/reference/attention.h"
#include "backend/reference/dequantize.h"
#include "backend/reference/elementwise.h"
#include "backend/reference/embedding.h"
#include "backend/reference/matmul.h"
#include "backend/reference/norm.h"
#include "backend/reference/rope.h"
#include "core/checked_math.h"

namespace hearth {
namespace {

constexpr size_t kAlignment = 64;

void free_aligned(void* p) {
  std::free(p);
}

Status check_f32(const TensorView& t, int rank, std::string_view what) {
  if (t.empty() && t.numel() != 0) return invalid_argument(std::string(what) + " has no data");
  if (t.dtype() != DType::kF32) {
    return invalid_argument(std::string(what) + " must be f32, got " +
                            std::string(dtype_name(t.dtype())));
  }
  if (t.shape().rank() != rank) {
    return invalid_argument(std::string(what) + " must be " + std::to_string(rank) +
                            "-D, got shape " + t.shape().to_string());
  }
  return {};
}

Status shape_mismatch(std::string_view op, std::string_view a_name, const Shape& a,
                      std::string_view b_name, const Shape& b) {
  return invalid_argument(std::string(op) + ": " + std::string(a_name) + " shape " + a.to_string() +
                          " does not fit " + std::string(b_name) + " shape " + b.to_string());
}

Status same_f32_elements(std::string_view op, const TensorView& a, const TensorView& b) {
  if (a.dtype() != DType::kF32 || b.dtype() != DType::kF32) {
    return invalid_argument(std::string(op) + " works on f32 tensors");
  }
  if (a.numel() != b.numel()) return shape_mismatch(op, "input", a.shape(), "output", b.shape());
  return {};
}

}  // namespace

ReferenceBackend::ReferenceBackend(int n_threads) : pool_(n_threads) {}

Expected<TensorView> ReferenceBackend::prepare_matrix(std::string_view name,
                                                      const TensorView& stored) {
  if (stored.shape().rank() != 2) {
    return invalid_argument("weight '" + std::string(name) + "' must be 2-D, got shape " +
                            stored.shape().to_string());
  }
  if (!reference::can_dequantize(stored.dtype())) {
    return unsupported("weight '" + std::string(name) + "' has type " +
                       std::string(dtype_name(stored.dtype())) +
                       ", which the reference backend cannot multiply by");
  }
  return stored;
}

Expected<TensorView> ReferenceBackend::prepare_vector(std::string_view name,
                                                      const TensorView& stored) {
  if (stored.shape().rank() != 1) {
    return invalid_argument("weight '" + std::string(name) + "' must be 1-D, got shape " +
                            stored.shape().to_string());
  }
  if (!reference::can_dequantize(stored.dtype())) {
    return unsupported("weight '" + std::string(name) + "' has type " +
                       std::string(dtype_name(stored.dtype())) +
                       ", which the reference backend cannot read");
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

Expected<BackendBuffer> ReferenceBackend::allocate(size_t bytes) {
  if (bytes == 0) return BackendBuffer();
  const auto rounded = checked_align_up(bytes, kAlignment);
  void* p = rounded ? std::aligned_alloc(kAlignment, static_cast<size_t>(*rounded)) : nullptr;
  if (p == nullptr) {
    return resource_exhausted("out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  return BackendBuffer(p, bytes, &free_aligned);
}

Status ReferenceBackend::ensure_scratch(std::vector<float>& buf, int64_t floats) {
  if (floats < 0) return invalid_argument("negative scratch size");
  if (static_cast<size_t>(floats) <= buf.size()) return {};
  try {
    buf.resize(static_cast<size_t>(floats));
  } catch (const std::bad_alloc&) {
    return resource_exhausted("out of memory reserving " + std::to_string(floats) +
                              " floats of scratch");
  }
  return {};
}

Status ReferenceBackend::reserve_scratch(const ScratchPlan& plan) {
  HEARTH_RETURN_IF_ERROR(ensure_scratch(
      matmul_scratch_, reference::matmul_scratch_floats(plan.max_matmul_inner, n_threads())));
  return ensure_scratch(attention_scratch_,
                        reference::attention_scratch_floats(plan.max_attention_keys, n_threads()));
}

Status ReferenceBackend::embedding(const TensorView& table, std::span<const int32_t> tokens,
                                   const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(check_f32(out, 2, "embedding output"));
  if (table.shape().rank() != 2 || out.shape()[0] != static_cast<int64_t>(tokens.size()) ||
      out.cols() != table.cols()) {
    return shape_mismatch("embedding", "table", table.shape(), "output", out.shape());
  }
  return reference::embedding(table, tokens, out.data_as<float>());
}

Status ReferenceBackend::matmul(const TensorView& x, const TensorView& w, const TensorView* bias,
                                const TensorView& y) {
  HEARTH_RETURN_IF_ERROR(check_f32(x, 2, "matmul input"));
  HEARTH_RETURN_IF_ERROR(check_f32(y, 2, "matmul output"));
  if (w.shape().rank() != 2 || x.cols() != w.cols()) {
    return shape_mismatch("matmul", "input", x.shape(), "weight", w.shape());
  }
  if (y.shape()[0] != x.shape()[0] || y.cols() != w.rows()) {
    return shape_mismatch("matmul", "output", y.shape(), "weight", w.shape());
  }
  if (bias && (bias->dtype() != DType::kF32 || bias->numel() != w.rows())) {
    return shape_mismatch("matmul", "bias", bias->shape(), "weight", w.shape());
  }
  HEARTH_RETURN_IF_ERROR(
      ensure_scratch(matmul_scratch_, reference::matmul_scratch_floats(w.cols(), n_threads())));
  return reference::matmul(x.data_as<const float>(), x.rows(), w,
                           bias ? bias->data_as<const float>() : nullptr, y.data_as<float>(),
                           matmul_scratch_, &pool_);
}

Status ReferenceBackend::rms_norm(const TensorView& x, const TensorView& weight, float eps,
                                  const TensorView& y) {
  HEARTH_RETURN_IF_ERROR(same_f32_elements("rms_norm", x, y));
  if (weight.dtype() != DType::kF32 || weight.numel() != x.cols() || y.cols() != x.cols()) {
    return shape_mismatch("rms_norm", "input", x.shape(), "weight", weight.shape());
  }
  reference::rms_norm(x.data_as<const float>(), weight.data_as<const float>(), y.data_as<float>(),
                      x.rows(), x.cols(), eps);
  return {};
}

Status ReferenceBackend::rope(const TensorView& x, std::span<const int32_t> positions,
                              const RopeSpec& spec) {
  HEARTH_RETURN_IF_ERROR(check_f32(x, 3, "rope input"));
  if (x.shape()[0] != static_cast<int64_t>(positions.size())) {
    return invalid_argument("rope: " + std::to_string(positions.size()) + " positions for input " +
                            x.shape().to_string());
  }
  return reference::rope(x.data_as<float>(), x.shape()[0], x.shape()[1], x.shape()[2],
                         positions.data(), spec);
}

Status ReferenceBackend::attention(const TensorView& q, const TensorView& k, const TensorView& v,
                                   std::span<const int32_t> positions, float scale,
                                   const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(check_f32(q, 3, "attention query"));
  HEARTH_RETURN_IF_ERROR(check_f32(k, 3, "attention keys"));
  HEARTH_RETURN_IF_ERROR(check_f32(v, 3, "attention values"));
  HEARTH_RETURN_IF_ERROR(check_f32(out, 3, "attention output"));
  if (!(k.shape() == v.shape()))
    return shape_mismatch("attention", "keys", k.shape(), "values", v.shape());
  if (!(out.shape() == q.shape()))
    return shape_mismatch("attention", "output", out.shape(), "query", q.shape());
  if (k.shape()[2] != q.shape()[2])
    return shape_mismatch("attention", "keys", k.shape(), "query", q.shape());
  if (q.shape()[0] != static_cast<int64_t>(positions.size())) {
    return invalid_argument("attention: " + std::to_string(positions.size()) +
                            " positions for query " + q.shape().to_string());
  }
  const int64_t n_keys = k.shape()[0];
  HEARTH_RETURN_IF_ERROR(
      ensure_scratch(attention_scratch_, reference::attention_scratch_floats(n_keys, n_threads())));
  const reference::AttentionDims dims{q.shape()[1], k.shape()[1], q.shape()[2]};
  return reference::attention(q.data_as<const float>(), q.shape()[0], k.data_as<const float>(),
                              v.data_as<const float>(), n_keys, dims, positions.data(), scale,
                              out.data_as<float>(), attention_scratch_, &pool_);
}

Status ReferenceBackend::swiglu(const TensorView& gate, const TensorView& up,
                                const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(same_f32_elements("swiglu", gate, out));
  HEARTH_RETURN_IF_ERROR(same_f32_elements("swiglu", up, out));
  reference::swiglu(gate.data_as<const float>(), up.data_as<const float>(), out.data_as<float>(),
                    out.numel());
  return {};
}

Status ReferenceBackend::add(const TensorView& a, const TensorView& b, const TensorView& out) {
  HEARTH_RETURN_IF_ERROR(same_f32_elements("add", a, out));
  HEARTH_RETURN_IF_ERROR(same_f32_elements("add", b, out));
  reference::add(a.data_as<const float>(), b.data_as<const float>(), out.data_as<float>(),
                 out.numel());
  return {};
}

Status ReferenceBackend::copy(const TensorView& src, const TensorView& dst) {
  if (src.dtype() != dst.dtype() || src.numel() != dst.numel()) {
    return shape_mismatch("copy", std::string(dtype_name(src.dtype())) + " source", src.shape(),
                          std::string(dtype_name(dst.dtype())) + " destination", dst.shape());
  }
  if (src.nbytes() > 0) std::memmove(dst.data(), src.data(), src.nbytes());
  return {};
}

Status ReferenceBackend::read(const TensorView& src, std::span<float> dst) {
  if (src.dtype() != DType::kF32 || static_cast<int64_t>(dst.size()) != src.numel()) {
    return invalid_argument("read: " + std::to_string(dst.size()) +
                            " host floats for a tensor of shape " + src.shape().to_string());
  }
  if (src.numel() > 0) std::memcpy(dst.data(), src.data(), src.nbytes());
  return {};
}

}  // namespace hearth
