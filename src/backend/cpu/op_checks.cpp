#include "backend/cpu/op_checks.h"

#include <string>

namespace hearth::cpu {

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

Status check_same_f32_elements(std::string_view op, const TensorView& a, const TensorView& b) {
  if (a.dtype() != DType::kF32 || b.dtype() != DType::kF32) {
    return invalid_argument(std::string(op) + " works on f32 tensors");
  }
  if ((a.empty() && a.numel() != 0) || (b.empty() && b.numel() != 0)) {
    return invalid_argument(std::string(op) + ": a tensor has no data");
  }
  if (a.numel() != b.numel()) return shape_mismatch(op, "input", a.shape(), "output", b.shape());
  return {};
}

Status check_matmul(const TensorView& x, const TensorView& w, const TensorView* bias,
                    const TensorView& y) {
  HEARTH_RETURN_IF_ERROR(check_f32(x, 2, "matmul input"));
  HEARTH_RETURN_IF_ERROR(check_f32(y, 2, "matmul output"));
  if (w.shape().rank() != 2 || x.cols() != w.cols() || (w.empty() && w.numel() != 0)) {
    return shape_mismatch("matmul", "input", x.shape(), "weight", w.shape());
  }
  if (y.shape()[0] != x.shape()[0] || y.cols() != w.rows()) {
    return shape_mismatch("matmul", "output", y.shape(), "weight", w.shape());
  }
  if (bias && (bias->dtype() != DType::kF32 || bias->numel() != w.rows() || bias->empty())) {
    return shape_mismatch("matmul", "bias", bias->shape(), "weight", w.shape());
  }
  return {};
}

Status check_kv_cache(std::string_view op, const TensorView& keys, const TensorView& values) {
  const std::string what = std::string(op) + " KV cache";
  if (keys.dtype() != values.dtype() ||
      (keys.dtype() != DType::kF32 && keys.dtype() != DType::kF16)) {
    return invalid_argument(what + " must be f32 or f16 keys and values of one type, got " +
                            std::string(dtype_name(keys.dtype())) + " and " +
                            std::string(dtype_name(values.dtype())));
  }
  for (const TensorView* t : {&keys, &values}) {
    if (t->empty() && t->numel() != 0) return invalid_argument(what + " has no data");
    if (t->shape().rank() != 3) {
      return invalid_argument(what + " must be 3-D, got shape " + t->shape().to_string());
    }
  }
  if (!(keys.shape() == values.shape())) {
    return shape_mismatch(op, "keys", keys.shape(), "values", values.shape());
  }
  return {};
}

Status check_attention(const TensorView& q, const TensorView& k, const TensorView& v,
                       std::span<const int32_t> positions, const TensorView& out, bool kv_f16) {
  HEARTH_RETURN_IF_ERROR(check_f32(q, 3, "attention query"));
  if (kv_f16) {
    HEARTH_RETURN_IF_ERROR(check_kv_cache("attention", k, v));
  } else {
    HEARTH_RETURN_IF_ERROR(check_f32(k, 3, "attention keys"));
    HEARTH_RETURN_IF_ERROR(check_f32(v, 3, "attention values"));
  }
  HEARTH_RETURN_IF_ERROR(check_f32(out, 3, "attention output"));
  if (!(k.shape() == v.shape())) {
    return shape_mismatch("attention", "keys", k.shape(), "values", v.shape());
  }
  if (!(out.shape() == q.shape())) {
    return shape_mismatch("attention", "output", out.shape(), "query", q.shape());
  }
  if (k.shape()[2] != q.shape()[2]) {
    return shape_mismatch("attention", "keys", k.shape(), "query", q.shape());
  }
  if (q.shape()[0] != static_cast<int64_t>(positions.size())) {
    return invalid_argument("attention: " + std::to_string(positions.size()) +
                            " positions for query " + q.shape().to_string());
  }
  return {};
}

}  // namespace hearth::cpu
