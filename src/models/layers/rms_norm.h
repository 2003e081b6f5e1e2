// Root-mean-square layer normalisation with a learned per-channel weight.
#pragma once

#include <cstdint>
#include <string_view>

#include "backend/backend.h"
#include "formats/weight_store.h"

namespace hearth {

class RmsNorm {
 public:
  RmsNorm() = default;
  // Weight `name` of shape [dim].
  static Expected<RmsNorm> load(Backend& backend, const WeightStore& store, std::string_view name,
                                int64_t dim, float eps);

  // x [T, dim] -> y [T, dim]
  Status forward(Backend& backend, const TensorView& x, const TensorView& y) const {
    return backend.rms_norm(x, weight_, eps_, y);
  }

 private:
  RmsNorm(const TensorView& weight, float eps) : weight_(weight), eps_(eps) {}
  TensorView weight_;  // [dim] f32
  float eps_ = 1e-6f;
};

}  // namespace hearth
