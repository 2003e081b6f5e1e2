// GGUF on-disk enums and the value model for metadata.
// Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace hearth {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr uint32_t kGgufMaxDims = 4;

enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

std::string_view gguf_type_name(GgufType t);
bool gguf_type_is_integer(GgufType t);
// Bytes of a scalar of this type on disk; 0 for string and array (variable).
uint32_t gguf_type_fixed_size(GgufType t);

// ggml tensor type ids as written in GGUF tensor infos.
std::optional<DType> dtype_from_ggml_type(uint32_t ggml_type);
std::optional<uint32_t> ggml_type_from_dtype(DType t);
// "Q4_K", or "type 42" for ids hearth does not know.
std::string ggml_type_display_name(uint32_t ggml_type);

// An array of metadata values: exactly one of the vectors is used, chosen by elem_type.
struct GgufArray {
  GgufType elem_type = GgufType::kUint8;
  std::vector<int64_t> ints;         // integer types and bool (uint64 stored bit-cast)
  std::vector<double> floats;        // float32 / float64
  std::vector<std::string> strings;  // string
  std::vector<GgufArray> arrays;     // nested arrays

  size_t size() const;
};

struct GgufValue {
  GgufType type = GgufType::kUint8;
  uint64_t bits = 0;  // integer and bool payload (signed values stored two's complement)
  double f = 0;       // float32 / float64
  std::string s;      // string
  GgufArray arr;      // array

  // Conversions that succeed only when the stored value fits exactly.
  std::optional<int64_t> as_int() const;
  std::optional<uint64_t> as_uint() const;
  std::optional<double> as_float() const;  // floats, and integers
  std::optional<bool> as_bool() const;
  // A short human-readable rendering (arrays abbreviated), for `models inspect` and errors.
  std::string summary(size_t max_chars = 80) const;
};

struct GgufKeyValue {
  std::string key;
  GgufValue value;
};

}  // namespace hearth
