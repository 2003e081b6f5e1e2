#include "models/layers/token_embedding.h"

#include <string>

namespace hearth {

Expected<TokenEmbedding> TokenEmbedding::load(Backend& backend, const WeightStore& store,
                                              std::string_view name, int64_t dim) {
  HEARTH_ASSIGN_OR_RETURN(const TensorView stored, store.require(name));
  if (stored.shape().rank() != 2 || stored.cols() != dim || stored.rows() < 1) {
    return invalid_argument("tensor '" + std::string(name) + "' has shape " +
                            stored.shape().to_string() + ", expected [vocab, " +
                            std::to_string(dim) + "]");
  }
  HEARTH_ASSIGN_OR_RETURN(const TensorView prepared, backend.prepare_matrix(name, stored));
  return TokenEmbedding(prepared);
}

}  // namespace hearth
