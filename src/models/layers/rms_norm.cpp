#include "models/layers/rms_norm.h"

namespace hearth {

Expected<RmsNorm> RmsNorm::load(Backend& backend, const WeightStore& store, std::string_view name,
                                int64_t dim, float eps) {
  HEARTH_ASSIGN_OR_RETURN(const TensorView stored, store.require(name, Shape{dim}));
  HEARTH_ASSIGN_OR_RETURN(const TensorView prepared, backend.prepare_vector(name, stored));
  return RmsNorm(prepared, eps);
}

}  // namespace hearth
