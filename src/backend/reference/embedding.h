// Reference embedding lookup.
#pragma once

#include <cstdint>
#include <span>

#include "core/tensor.h"
#include "hearth/status.h"

namespace hearth::reference {

// out[T, dim] = rows `tokens` of table [vocab, dim] (any dequantizable type) as f32.
// OutOfRange naming the id when one is outside [0, vocab).
Status embedding(const TensorView& table, std::span<const int32_t> tokens, float* out);

}  // namespace hearth::reference
