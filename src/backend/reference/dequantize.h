// Reference (scalar, obviously correct) conversion of any supported storage type to f32.
// The oracle every fast kernel's dequantization is tested against.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "hearth/status.h"

namespace hearth::reference {

// True when dequantize_row() handles `t`.
bool can_dequantize(DType t);

// Converts `n` elements of type `t` at `src` to f32 in `dst`. `n` must be a whole number of
// blocks; Unsupported for types without a reference implementation.
Status dequantize_row(DType t, const void* src, float* dst, int64_t n);

}  // namespace hearth::reference
