// find_invalid_utf8 against Python's strict UTF-8 decoder (tests/fixtures/core/make_utf8_cases.py).
#include "core/utf8.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "support/test_support.h"

namespace hearth {
namespace {

using json = nlohmann::json;

TEST(Utf8Test, ValidationAgreesWithPython) {
  const std::string path = test::fixture_path("core/utf8_cases.json");
  const json cases = json::parse(test::read_file_text(path));
  ASSERT_GT(cases.size(), 400u) << path;
  for (const auto& c : cases) {
    const std::string hex = c["hex"];
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    const auto bad = find_invalid_utf8(bytes);
    if (c["first_invalid"].is_null()) {
      EXPECT_FALSE(bad.has_value()) << hex;
    } else {
      ASSERT_TRUE(bad.has_value()) << hex;
      EXPECT_EQ(*bad, c["first_invalid"].get<size_t>()) << hex;
    }
  }
}

TEST(Utf8Test, FastPathBoundariesAndEmpty) {
  EXPECT_FALSE(find_invalid_utf8("").has_value());
  // An invalid byte at every offset around the 8-byte ASCII fast path.
  for (size_t at = 0; at < 20; ++at) {
    std::string s(20, 'a');
    s[at] = static_cast<char>(0xFF);
    const auto bad = find_invalid_utf8(s);
    ASSERT_TRUE(bad.has_value()) << at;
    EXPECT_EQ(*bad, at);
  }
  EXPECT_EQ(find_invalid_utf8(std::string(15, 'a') + "\xC3").value_or(99), 15u);  // cut short
  EXPECT_FALSE(find_invalid_utf8(std::string(13, 'a') + "\xE2\x82\xAC").has_value());
}

}  // namespace
}  // namespace hearth
