#include "models/layers/linear.h"

#include <string>

namespace hearth {

Expected<Linear> Linear::load(Backend& backend, const WeightStore& store, std::string_view name,
                              int64_t out_features, int64_t in_features) {
  HEARTH_ASSIGN_OR_RETURN(const TensorView stored,
                          store.require(name, Shape{out_features, in_features}));
  HEARTH_ASSIGN_OR_RETURN(const TensorView prepared, backend.prepare_matrix(name, stored));
  return Linear(prepared);
}

Status Linear::load_bias(Backend& backend, const WeightStore& store, std::string_view name) {
  HEARTH_ASSIGN_OR_RETURN(const TensorView stored, store.require(name, Shape{out_features()}));
  HEARTH_ASSIGN_OR_RETURN(bias_, backend.prepare_vector(name, stored));
  return {};
}

}  // namespace hearth
