// Final hidden state -> vocabulary logits, through its own weight or the token embedding table
// (tied embeddings).
#pragma once

#include <cstdint>
#include <string_view>

#include "models/layers/linear.h"
#include "models/layers/token_embedding.h"

namespace hearth {

class OutputHead {
 public:
  OutputHead() = default;
  // Weight `name` [vocab, dim] when `tied` is false; the embedding table when it is true.
  static Expected<OutputHead> load(Backend& backend, const WeightStore& store,
                                   std::string_view name, bool tied,
                                   const TokenEmbedding& embedding);

  // hidden [T, dim] (already normalised) -> logits [T, vocab]
  Status forward(Backend& backend, const TensorView& hidden, const TensorView& logits) const {
    return projection_.forward(backend, hidden, logits);
  }
  bool tied() const { return tied_; }

 private:
  OutputHead(Linear projection, bool tied) : projection_(projection), tied_(tied) {}
  Linear projection_;
  bool tied_ = false;
};

}  // namespace hearth
