// Element types, including ggml-style quantized block types. A quantized tensor is a sequence of
// blocks along its innermost dimension; `block_elems` values are packed into `block_bytes` bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hearth {

enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kF64,
  kI8,
  kI16,
  kI32,
  kI64,
  kU8,
  kBool,
  // ggml block quantizations (layouts in quant_blocks.h).
  kQ4_0,
  kQ4_1,
  kQ5_0,
  kQ5_1,
  kQ8_0,
  kQ8_1,
  kQ2_K,
  kQ3_K,
  kQ4_K,
  kQ5_K,
  kQ6_K,
  kQ8_K,
  // Known so files that use them can be inspected and refused by name; no kernels yet.
  kIQ2_XXS,
  kIQ2_XS,
  kIQ3_XXS,
  kIQ1_S,
  kIQ4_NL,
  kIQ3_S,
  kIQ2_S,
  kIQ4_XS,
  kIQ1_M,
  kTQ1_0,
  kTQ2_0,
  kMXFP4,
  // Plain types of safetensors files (MLX stores its packed quantized weights as u32).
  kU16,
  kU32,
  kU64,
  kF8_E4M3,  // OCP FP8 E4M3 ("fn": no infinities)
  kF8_E5M2,
  kCount,
};

struct DTypeTraits {
  std::string_view name;  // "f32", "q4_0", ... (lower case, as users write them)
  uint32_t block_elems;   // 1 for plain types
  uint32_t block_bytes;   // bytes per block (element size for plain types)
  bool quantized;
};

const DTypeTraits& dtype_traits(DType t);
inline std::string_view dtype_name(DType t) {
  return dtype_traits(t).name;
}
inline bool dtype_is_quantized(DType t) {
  return dtype_traits(t).quantized;
}

// Case-insensitive lookup by name ("Q4_0", "bf16").
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes needed for one row of `elems` elements, or nullopt when `elems` is not a whole number of
// blocks or the size overflows.
std::optional<uint64_t> dtype_row_bytes(DType t, uint64_t elems);

}  // namespace hearth
