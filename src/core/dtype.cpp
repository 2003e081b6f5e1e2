#include "core/dtype.h"

#include <array>
#include <cctype>

#include "core/checked_math.h"

namespace hearth {
namespace {

constexpr std::array<DTypeTraits, static_cast<size_t>(DType::kCount)> kTraits = {{
    {"f32", 1, 4, false},       {"f16", 1, 2, false},       {"bf16", 1, 2, false},
    {"f64", 1, 8, false},       {"i8", 1, 1, false},        {"i16", 1, 2, false},
    {"i32", 1, 4, false},       {"i64", 1, 8, false},       {"u8", 1, 1, false},
    {"bool", 1, 1, false},      {"q4_0", 32, 18, true},     {"q4_1", 32, 20, true},
    {"q5_0", 32, 22, true},     {"q5_1", 32, 24, true},     {"q8_0", 32, 34, true},
    {"q8_1", 32, 36, true},     {"q2_k", 256, 84, true},    {"q3_k", 256, 110, true},
    {"q4_k", 256, 144, true},   {"q5_k", 256, 176, true},   {"q6_k", 256, 210, true},
    {"q8_k", 256, 292, true},   {"iq2_xxs", 256, 66, true}, {"iq2_xs", 256, 74, true},
    {"iq3_xxs", 256, 98, true}, {"iq1_s", 256, 50, true},   {"iq4_nl", 32, 18, true},
    {"iq3_s", 256, 110, true},  {"iq2_s", 256, 82, true},   {"iq4_xs", 256, 136, true},
    {"iq1_m", 256, 56, true},   {"tq1_0", 256, 54, true},   {"tq2_0", 256, 66, true},
    {"mxfp4", 32, 17, true},    {"u16", 1, 2, false},       {"u32", 1, 4, false},
    {"u64", 1, 8, false},       {"f8_e4m3", 1, 1, false},   {"f8_e5m2", 1, 1, false},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

const DTypeTraits& dtype_traits(DType t) {
  return kTraits[static_cast<size_t>(t)];
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (size_t i = 0; i < kTraits.size(); ++i) {
    if (iequals(kTraits[i].name, name)) return static_cast<DType>(i);
  }
  return std::nullopt;
}

std::optional<uint64_t> dtype_row_bytes(DType t, uint64_t elems) {
  const DTypeTraits& tr = dtype_traits(t);
  if (elems % tr.block_elems != 0) return std::nullopt;
  return checked_mul(elems / tr.block_elems, uint64_t{tr.block_bytes});
}

}  // namespace hearth
