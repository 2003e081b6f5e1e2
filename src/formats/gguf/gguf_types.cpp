#include "formats/gguf/gguf_types.h"

#include <array>
#include <climits>
#include <cstdio>
#include <string>

namespace hearth {
namespace {

struct GgmlTypeEntry {
  uint32_t id;
  DType dtype;
  const char* name;
};

// ids 4, 5 and 31-33, 36-38 were removed from ggml and never appear in valid files.
constexpr std::array<GgmlTypeEntry, 32> kGgmlTypes = {{
    {0, DType::kF32, "F32"},          {1, DType::kF16, "F16"},
    {2, DType::kQ4_0, "Q4_0"},        {3, DType::kQ4_1, "Q4_1"},
    {6, DType::kQ5_0, "Q5_0"},        {7, DType::kQ5_1, "Q5_1"},
    {8, DType::kQ8_0, "Q8_0"},        {9, DType::kQ8_1, "Q8_1"},
    {10, DType::kQ2_K, "Q2_K"},       {11, DType::kQ3_K, "Q3_K"},
    {12, DType::kQ4_K, "Q4_K"},       {13, DType::kQ5_K, "Q5_K"},
    {14, DType::kQ6_K, "Q6_K"},       {15, DType::kQ8_K, "Q8_K"},
    {16, DType::kIQ2_XXS, "IQ2_XXS"}, {17, DType::kIQ2_XS, "IQ2_XS"},
    {18, DType::kIQ3_XXS, "IQ3_XXS"}, {19, DType::kIQ1_S, "IQ1_S"},
    {20, DType::kIQ4_NL, "IQ4_NL"},   {21, DType::kIQ3_S, "IQ3_S"},
    {22, DType::kIQ2_S, "IQ2_S"},     {23, DType::kIQ4_XS, "IQ4_XS"},
    {24, DType::kI8, "I8"},           {25, DType::kI16, "I16"},
    {26, DType::kI32, "I32"},         {27, DType::kI64, "I64"},
    {28, DType::kF64, "F64"},         {29, DType::kIQ1_M, "IQ1_M"},
    {30, DType::kBF16, "BF16"},       {34, DType::kTQ1_0, "TQ1_0"},
    {35, DType::kTQ2_0, "TQ2_0"},     {39, DType::kMXFP4, "MXFP4"},
}};

}  // namespace

std::string_view gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
      return "uint8";
    case GgufType::kInt8:
      return "int8";
    case GgufType::kUint16:
      return "uint16";
    case GgufType::kInt16:
      return "int16";
    case GgufType::kUint32:
      return "uint32";
    case GgufType::kInt32:
      return "int32";
    case GgufType::kFloat32:
      return "float32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kUint64:
      return "uint64";
    case GgufType::kInt64:
      return "int64";
    case GgufType::kFloat64:
      return "float64";
  }
  return "unknown";
}

bool gguf_type_is_integer(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kUint16:
    case GgufType::kInt16:
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kUint64:
    case GgufType::kInt64:
      return true;
    default:
      return false;
  }
}

uint32_t gguf_type_fixed_size(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    case GgufType::kString:
    case GgufType::kArray:
      return 0;
  }
  return 0;
}

std::optional<DType> dtype_from_ggml_type(uint32_t ggml_type) {
  for (const auto& e : kGgmlTypes)
    if (e.id == ggml_type) return e.dtype;
  return std::nullopt;
}

std::optional<uint32_t> ggml_type_from_dtype(DType t) {
  for (const auto& e : kGgmlTypes)
    if (e.dtype == t) return e.id;
  return std::nullopt;
}

std::string ggml_type_display_name(uint32_t ggml_type) {
  for (const auto& e : kGgmlTypes)
    if (e.id == ggml_type) return e.name;
  return "type " + std::to_string(ggml_type);
}

size_t GgufArray::size() const {
  switch (elem_type) {
    case GgufType::kFloat32:
    case GgufType::kFloat64:
      return floats.size();
    case GgufType::kString:
      return strings.size();
    case GgufType::kArray:
      return arrays.size();
    default:
      return ints.size();
  }
}

std::optional<int64_t> GgufValue::as_int() const {
  if (!gguf_type_is_integer(type)) return std::nullopt;
  if (type == GgufType::kUint64 && bits > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(bits);
}

std::optional<uint64_t> GgufValue::as_uint() const {
  if (!gguf_type_is_integer(type)) return std::nullopt;
  const bool is_signed = type == GgufType::kInt8 || type == GgufType::kInt16 ||
                         type == GgufType::kInt32 || type == GgufType::kInt64;
  if (is_signed && static_cast<int64_t>(bits) < 0) return std::nullopt;
  return bits;
}

std::optional<double> GgufValue::as_float() const {
  if (type == GgufType::kFloat32 || type == GgufType::kFloat64) return f;
  if (auto i = as_int()) return static_cast<double>(*i);
  if (auto u = as_uint()) return static_cast<double>(*u);
  return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
  if (type != GgufType::kBool) return std::nullopt;
  return bits != 0;
}

namespace {

std::string scalar_text(GgufType type, uint64_t bits, double f, const std::string& s) {
  switch (type) {
    case GgufType::kBool:
      return bits ? "true" : "false";
    case GgufType::kFloat32:
    case GgufType::kFloat64: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.9g", f);
      return buf;
    }
    case GgufType::kString:
      return "\"" + s + "\"";
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
    case GgufType::kInt64:
      return std::to_string(static_cast<int64_t>(bits));
    default:
      return std::to_string(bits);
  }
}

std::string array_text(const GgufArray& a, size_t max_chars) {
  std::string out = "[";
  const size_t n = a.size();
  for (size_t i = 0; i < n; ++i) {
    if (out.size() > max_chars) {
      out += "... (" + std::to_string(n) + " " + std::string(gguf_type_name(a.elem_type)) + ")";
      return out + "]";
    }
    if (i) out += ", ";
    switch (a.elem_type) {
      case GgufType::kString:
        out += scalar_text(a.elem_type, 0, 0, a.strings[i]);
        break;
      case GgufType::kFloat32:
      case GgufType::kFloat64:
        out += scalar_text(a.elem_type, 0, a.floats[i], {});
        break;
      case GgufType::kArray:
        out += array_text(a.arrays[i], max_chars / 2);
        break;
      default:
        out += scalar_text(a.elem_type, static_cast<uint64_t>(a.ints[i]), 0, {});
        break;
    }
  }
  return out + "]";
}

}  // namespace

std::string GgufValue::summary(size_t max_chars) const {
  std::string out =
      type == GgufType::kArray ? array_text(arr, max_chars) : scalar_text(type, bits, f, s);
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (out.size() > max_chars + 24) out = out.substr(0, max_chars) + "...";
  return out;
}

}  // namespace hearth
