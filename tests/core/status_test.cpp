#include "hearth/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace hearth {
namespace {

Expected<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("value must be positive, got " + std::to_string(v));
  return v;
}

Expected<int> doubled(int v) {
  HEARTH_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

Status check(int v) {
  HEARTH_RETURN_IF_ERROR(parse_positive(v).status());
  return {};
}

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.to_string(), "ok");
}

TEST(StatusTest, CarriesCodeAndMessageWithContext) {
  Status s = corrupt_data("tensor 'x' is truncated").with_context("reading 'm.gguf'");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruptData);
  EXPECT_EQ(s.to_string(), "corrupt data: reading 'm.gguf': tensor 'x' is truncated");
}

TEST(ExpectedTest, ValueAndErrorPropagate) {
  EXPECT_EQ(*doubled(4), 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("-1"), std::string::npos);
  EXPECT_TRUE(check(3).ok());
  EXPECT_FALSE(check(0).ok());
}

TEST(ExpectedTest, HoldsMoveOnlyTypes) {
  Expected<std::unique_ptr<int>> e(std::make_unique<int>(7));
  ASSERT_TRUE(e.ok());
  std::unique_ptr<int> p = std::move(e).value();
  EXPECT_EQ(*p, 7);
}

}  // namespace
}  // namespace hearth
