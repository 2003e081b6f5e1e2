// Reference (scalar, obviously correct) conversion of any supported storage type to f32.
// The oracle every fast kernel's dequantization is tested against. Written from the ggml block
// format definitions (layouts in core/quant_blocks.h); checked against the gguf Python package.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "core/tensor.h"
#include "hearth/status.h"

namespace hearth::reference {

// True when dequantize_row() handles `t`: f32, f16, bf16, f64, f8_e4m3, f8_e5m2, the 32-element
// formats (q4_0, q4_1,
// q5_0, q5_1, q8_0, q8_1, iq4_nl, mxfp4), the K-quants (q2_k .. q8_k, iq4_xs) and the ternary
// tq1_0 / tq2_0. The IQ1/IQ2/IQ3 grid formats are not handled.
bool can_dequantize(DType t);

// Converts `n` elements of type `t` at `src` to f32 in `dst`. `n` must be a whole number of
// blocks; Unsupported for types without a reference implementation. `src` needs no alignment.
Status dequantize_row(DType t, const void* src, float* dst, int64_t n);

// Rows [row_begin, row_begin + row_count) of `view` (numpy-order rows of view.cols() elements)
// into `dst`, which holds row_count * view.cols() floats. OutOfRange when the rows are not inside
// the view.
Status dequantize_rows(const TensorView& view, int64_t row_begin, int64_t row_count, float* dst);

}  // namespace hearth::reference
