// y = x . W^T (+ b): the one way a model multiplies by a weight. The weight stays in its stored
// type; the backend picks the kernel from it.
#pragma once

#include <cstdint>
#include <string_view>

#include "backend/backend.h"
#include "formats/weight_store.h"

namespace hearth {

class Linear {
 public:
  Linear() = default;
  // Weight `name` of shape [out_features, in_features]; errors name the tensor.
  static Expected<Linear> load(Backend& backend, const WeightStore& store, std::string_view name,
                               int64_t out_features, int64_t in_features);
  // Uses an already prepared matrix (a tied embedding table).
  static Linear from_prepared(const TensorView& weight) { return Linear(weight); }
  // Adds bias `name` [out_features]; NotFound when absent.
  Status load_bias(Backend& backend, const WeightStore& store, std::string_view name);

  // x [T, in] -> y [T, out]
  Status forward(Backend& backend, const TensorView& x, const TensorView& y) const {
    return backend.matmul(x, weight_, bias_or_null(), y);
  }

  const TensorView& weight() const { return weight_; }
  bool has_bias() const { return !bias_.empty(); }
  // The bias [out] as an op argument: null when there is none.
  const TensorView* bias_or_null() const { return bias_.empty() ? nullptr : &bias_; }
  int64_t out_features() const { return weight_.rows(); }
  int64_t in_features() const { return weight_.cols(); }

 private:
  explicit Linear(const TensorView& weight) : weight_(weight) {}
  TensorView weight_;  // [out, in], as prepared by the backend
  TensorView bias_;    // [out] f32, or empty
};

}  // namespace hearth
