// Token id -> embedding row, read from a table in its stored (often quantized) type.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "backend/backend.h"
#include "formats/weight_store.h"

namespace hearth {

class TokenEmbedding {
 public:
  TokenEmbedding() = default;
  // Table `name` of shape [vocab, dim]; the vocabulary size is taken from the table.
  static Expected<TokenEmbedding> load(Backend& backend, const WeightStore& store,
                                       std::string_view name, int64_t dim);

  // out [T, dim]; OutOfRange for an id outside the vocabulary.
  Status forward(Backend& backend, std::span<const int32_t> tokens, const TensorView& out) const {
    return backend.embedding(table_, tokens, out);
  }

  const TensorView& table() const { return table_; }  // [vocab, dim], as prepared
  int64_t vocab_size() const { return table_.rows(); }

 private:
  explicit TokenEmbedding(const TensorView& table) : table_(table) {}
  TensorView table_;
};

}  // namespace hearth
