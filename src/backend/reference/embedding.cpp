#include "backend/reference/embedding.h"

#include <string>

#include "backend/reference/dequantize.h"

namespace hearth::reference {

Status embedding(const TensorView& table, std::span<const int32_t> tokens, float* out) {
  if (table.shape().rank() != 2) {
    return invalid_argument("embedding table must be 2-D, got shape " + table.shape().to_string());
  }
  const int64_t vocab = table.rows();
  const int64_t dim = table.cols();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      return out_of_range("token id " + std::to_string(tokens[i]) + " at index " +
                          std::to_string(i) + " is outside the vocabulary of " +
                          std::to_string(vocab) + " tokens");
    }
    HEARTH_RETURN_IF_ERROR(dequantize_row(table.dtype(), table.row_ptr(tokens[i]),
                                          out + static_cast<int64_t>(i) * dim, dim));
  }
  return {};
}

}  // namespace hearth::reference
