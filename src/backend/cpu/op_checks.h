// Argument checks shared by CpuBackend's ops: every shape mismatch is an InvalidArgument naming
// the op and both shapes, never a crash or an out-of-bounds read.
#pragma once

#include <span>
#include <string_view>

#include "backend/backend.h"

namespace hearth::cpu {

// f32, rank `rank`, with data unless empty.
Status check_f32(const TensorView& t, int rank, std::string_view what);
Status shape_mismatch(std::string_view op, std::string_view a_name, const Shape& a,
                      std::string_view b_name, const Shape& b);
// Both f32 with the same number of elements.
Status check_same_f32_elements(std::string_view op, const TensorView& a, const TensorView& b);
// x[T, K], w[N, K], optional bias[N] f32, y[T, N].
Status check_matmul(const TensorView& x, const TensorView& w, const TensorView* bias,
                    const TensorView& y);
// q[T, H, hd], k = v [n_keys, H_kv, hd], out like q, one position per token. k and v are f32, or
// f32 or f16 of the same type when kv_f16 is set (a backend whose caches may be f16).
Status check_attention(const TensorView& q, const TensorView& k, const TensorView& v,
                       std::span<const int32_t> positions, const TensorView& out,
                       bool kv_f16 = false);
// A KV cache pair: keys and values of the same shape [capacity, H_kv, hd], both f32 or both f16.
Status check_kv_cache(std::string_view op, const TensorView& keys, const TensorView& values);

}  // namespace hearth::cpu
