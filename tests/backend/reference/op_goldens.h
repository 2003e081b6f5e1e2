// Loads tests/fixtures/models/reference_ops/op_goldens.json (numpy/gguf-computed goldens, see
// make_op_goldens.py there) for the reference op tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "support/test_support.h"

namespace hearth::test {

inline const nlohmann::json& op_goldens() {
  static const nlohmann::json goldens = [] {
    const std::string path = fixture_path("models/reference_ops/op_goldens.json");
    const std::string text = read_file_text(path);
    if (text.empty()) ADD_FAILURE() << "cannot read " << path;
    return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  }();
  return goldens;
}

// JSON numbers (and the string "-inf") as floats.
inline std::vector<float> floats(const nlohmann::json& a) {
  std::vector<float> v;
  v.reserve(a.size());
  for (const auto& e : a) {
    v.push_back(e.is_string() ? -std::numeric_limits<float>::infinity() : e.get<float>());
  }
  return v;
}

inline std::vector<double> doubles(const nlohmann::json& a) {
  std::vector<double> v;
  v.reserve(a.size());
  for (const auto& e : a) v.push_back(e.get<double>());
  return v;
}

inline std::vector<int32_t> ints(const nlohmann::json& a) {
  std::vector<int32_t> v;
  for (const auto& e : a) v.push_back(e.get<int32_t>());
  return v;
}

inline std::vector<uint8_t> base64_decode(const std::string& s) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const int v = value(c);
    if (v < 0) continue;  // '=' padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

inline DType dtype_named(const std::string& name) {
  const auto t = dtype_from_name(name);
  EXPECT_TRUE(t.has_value()) << "unknown dtype " << name;
  return t.value_or(DType::kF32);
}

// Elementwise |got - want| <= abs_tol + rel_tol * |want|, reporting the worst element.
inline void expect_close(const std::vector<float>& got, const std::vector<double>& want,
                         double abs_tol, double rel_tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double excess = std::abs(got[i] - want[i]) - (abs_tol + rel_tol * std::abs(want[i]));
    if (i == 0 || excess > worst) {
      worst = excess;
      worst_i = i;
    }
  }
  if (!got.empty()) {
    EXPECT_LE(worst, 0.0) << what << ": element " << worst_i << " is " << got[worst_i] << ", want "
                          << want[worst_i] << " (abs tol " << abs_tol << ", rel tol " << rel_tol
                          << ")";
  }
}

}  // namespace hearth::test
