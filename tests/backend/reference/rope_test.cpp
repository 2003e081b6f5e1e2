// Reference RoPE against numpy (float64) for both pair layouts, large positions and partial
// rotary dimensions.
#include "backend/reference/rope.h"

#include <gtest/gtest.h>

#include "backend/reference/op_goldens.h"

namespace hearth {
namespace {

TEST(ReferenceRopeTest, MatchesNumpyForBothLayouts) {
  const auto& cases = test::op_goldens()["rope"];
  ASSERT_GE(cases.size(), 5u);
  for (const auto& c : cases) {
    RopeSpec spec;
    spec.layout = c["layout"] == "adjacent" ? RopeLayout::kAdjacentPairs : RopeLayout::kNeox;
    spec.rotary_dim = c["rotary_dim"];
    spec.inv_freq = test::doubles(c["inv_freq"]);
    std::vector<float> x = test::floats(c["x"]);
    const std::vector<int32_t> positions = test::ints(c["positions"]);
    const Status st = reference::rope(x.data(), c["n_tokens"], c["n_heads"], c["head_dim"],
                                      positions.data(), spec);
    ASSERT_TRUE(st.ok()) << st.to_string();
    // Angles are computed in double, so only the final float rounding (|x| <~ 4) remains.
    test::expect_close(
        x, test::doubles(c["y"]), 2e-6, 1e-6,
        std::string(c["layout"]) + " head_dim " + std::to_string(int(c["head_dim"])));
  }
}

TEST(ReferenceRopeTest, LayoutsDifferSoAWrongChoiceIsCaught) {
  RopeSpec adjacent{RopeLayout::kAdjacentPairs, 4, {1.0, 0.01}};
  RopeSpec neox{RopeLayout::kNeox, 4, {1.0, 0.01}};
  std::vector<float> a{1, 2, 3, 4}, b{1, 2, 3, 4};
  const int32_t pos = 3;
  ASSERT_TRUE(reference::rope(a.data(), 1, 1, 4, &pos, adjacent).ok());
  ASSERT_TRUE(reference::rope(b.data(), 1, 1, 4, &pos, neox).ok());
  EXPECT_NE(a, b);
}

TEST(ReferenceRopeTest, PositionZeroIsIdentity) {
  RopeSpec spec{RopeLayout::kNeox, 8, {1.0, 0.1, 0.01, 0.001}};
  std::vector<float> x{1, -2, 3, -4, 5, -6, 7, -8};
  const std::vector<float> before = x;
  const int32_t pos = 0;
  ASSERT_TRUE(reference::rope(x.data(), 1, 1, 8, &pos, spec).ok());
  EXPECT_EQ(x, before);
}

TEST(ReferenceRopeTest, RejectsBadSpecsAndPositions) {
  std::vector<float> x(8);
  const int32_t pos = 1, neg = -1;
  RopeSpec odd{RopeLayout::kNeox, 3, {1.0}};
  EXPECT_EQ(reference::rope(x.data(), 1, 1, 8, &pos, odd).code(), StatusCode::kInvalidArgument);
  RopeSpec too_wide{RopeLayout::kNeox, 10, {1, 1, 1, 1, 1}};
  EXPECT_EQ(reference::rope(x.data(), 1, 1, 8, &pos, too_wide).code(),
            StatusCode::kInvalidArgument);
  RopeSpec missing_freqs{RopeLayout::kNeox, 8, {1.0}};
  EXPECT_EQ(reference::rope(x.data(), 1, 1, 8, &pos, missing_freqs).code(),
            StatusCode::kInvalidArgument);
  RopeSpec ok{RopeLayout::kNeox, 8, {1, 1, 1, 1}};
  EXPECT_EQ(reference::rope(x.data(), 1, 1, 8, &neg, ok).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hearth
