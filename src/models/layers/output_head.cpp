#include "models/layers/output_head.h"

namespace hearth {

Expected<OutputHead> OutputHead::load(Backend& backend, const WeightStore& store,
                                      std::string_view name, bool tied,
                                      const TokenEmbedding& embedding) {
  if (tied) return OutputHead(Linear::from_prepared(embedding.table()), true);
  HEARTH_ASSIGN_OR_RETURN(
      Linear projection,
      Linear::load(backend, store, name, embedding.vocab_size(), embedding.table().cols()));
  return OutputHead(projection, false);
}

}  // namespace hearth
