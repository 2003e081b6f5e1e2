// The kernels one instruction set provides, as plain function pointers: the drivers (matmul,
// attention, pointwise ops) are written once against this table, and simd/<isa>/ fill it.
// A null weight `dot` means no fast kernel for that type; the matmul driver then dequantizes rows
// through the reference code instead (correct, slower).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "backend/cpu/cpu_features.h"
#include "core/dtype.h"

namespace hearth::cpu {

// How the activation row is presented to a weight type's dot product.
enum class ActFormat : uint8_t {
  kNone,    // no fast kernel
  kF32,     // the f32 row itself (f32, f16, bf16 weights)
  kQ8x32,   // an ActRowQ8x32 row
  kQ8x256,  // ActQ8x256 blocks
};

// Dot products of `n_rows` consecutive weight rows of `k` elements (stored blocks, `row_bytes`
// apart) with one activation row in the weight type's ActFormat: out[r] = row r . act.
using RowsDotFn = void (*)(int64_t k, const void* weight_rows, size_t row_bytes, int64_t n_rows,
                           const void* act_row, float* out);
// One weight row of `k` elements to f32.
using DequantRowFn = void (*)(const void* weight_row, float* out, int64_t k);
// One f32 row of `k` elements (a multiple of the block length) to activation blocks.
using QuantizeRowFn = void (*)(const float* x, void* out, int64_t k);

struct WeightKernels {
  ActFormat act = ActFormat::kNone;
  RowsDotFn dot = nullptr;
  DequantRowFn dequant = nullptr;  // null: reference::dequantize_row
};

// One token's `group` query heads that share a kv head (grouped-query attention), with an
// online softmax over blocks of keys: out[g] = sum_j softmax_j(scale * q[g] . k_j) v_j over
// j < n_keys, where key j is at k + j * kv_stride (likewise v). q and out are [group, head_dim];
// the heads of a group read each key and value row once between them. `scratch` holds
// attention_scratch_floats(group, head_dim) floats.
using AttentionGroupFn = void (*)(const float* q, int64_t group, const float* k, const float* v,
                                  int64_t n_keys, int64_t kv_stride, int64_t head_dim, float scale,
                                  float* out, float* scratch);
inline constexpr int64_t kAttentionKeyBlock = 32;
// y[t * ldy + r] = x[t * ldx ..] . w[r * k ..] for t < n_tokens, r < n_rows, batch-invariant: each
// element is computed by the same operations in the same order whatever n_tokens, n_rows and
// the element's place in the call, so a prompt's numerics do not depend on how it was chunked.
using GemmNtFn = void (*)(const float* x, int64_t ldx, int64_t n_tokens, const float* w,
                          int64_t n_rows, int64_t k, float* y, int64_t ldy);
inline int64_t attention_scratch_floats(int64_t group, int64_t head_dim) {
  return group * (head_dim + kAttentionKeyBlock + 2);
}

struct KernelTable {
  CpuIsa isa = CpuIsa::kScalar;
  std::array<WeightKernels, static_cast<size_t>(DType::kCount)> weights{};
  QuantizeRowFn quantize_q8x32 = nullptr;
  QuantizeRowFn quantize_q8x256 = nullptr;

  float (*dot_f32)(const float* a, const float* b, int64_t n) = nullptr;
  float (*sum_squares)(const float* x, int64_t n) = nullptr;
  // y = x * scale * w
  void (*scale_mul)(const float* x, float scale, const float* w, float* y, int64_t n) = nullptr;
  // out = silu(gate) * up
  void (*swiglu)(const float* gate, const float* up, float* out, int64_t n) = nullptr;
  void (*add)(const float* a, const float* b, float* out, int64_t n) = nullptr;
  AttentionGroupFn attention_group = nullptr;
  GemmNtFn gemm_nt = nullptr;

  const WeightKernels& for_type(DType t) const { return weights[static_cast<size_t>(t)]; }
  WeightKernels& for_type(DType t) { return weights[static_cast<size_t>(t)]; }
};

// The table for `isa` (which the CPU must support), built once.
const KernelTable& kernel_table(CpuIsa isa);

// Each fills every entry it implements; later sets override earlier ones (avx512 starts from the
// avx2 table, which starts from the scalar one).
void fill_scalar_kernels(KernelTable& table);
void fill_avx2_kernels(KernelTable& table);
void fill_avx512_kernels(KernelTable& table);

}  // namespace hearth::cpu
