#include "core/dtype.h"

#include <gtest/gtest.h>

#include "core/quant_blocks.h"

namespace hearth {
namespace {

TEST(DTypeTest, BlockSizesMatchStructLayouts) {
  EXPECT_EQ(dtype_traits(DType::kQ4_0).block_bytes, sizeof(BlockQ4_0));
  EXPECT_EQ(dtype_traits(DType::kQ4_1).block_bytes, sizeof(BlockQ4_1));
  EXPECT_EQ(dtype_traits(DType::kQ5_0).block_bytes, sizeof(BlockQ5_0));
  EXPECT_EQ(dtype_traits(DType::kQ5_1).block_bytes, sizeof(BlockQ5_1));
  EXPECT_EQ(dtype_traits(DType::kQ8_0).block_bytes, sizeof(BlockQ8_0));
  EXPECT_EQ(dtype_traits(DType::kQ8_1).block_bytes, sizeof(BlockQ8_1));
  EXPECT_EQ(dtype_traits(DType::kQ2_K).block_bytes, sizeof(BlockQ2_K));
  EXPECT_EQ(dtype_traits(DType::kQ3_K).block_bytes, sizeof(BlockQ3_K));
  EXPECT_EQ(dtype_traits(DType::kQ4_K).block_bytes, sizeof(BlockQ4_K));
  EXPECT_EQ(dtype_traits(DType::kQ5_K).block_bytes, sizeof(BlockQ5_K));
  EXPECT_EQ(dtype_traits(DType::kQ6_K).block_bytes, sizeof(BlockQ6_K));
  EXPECT_EQ(dtype_traits(DType::kQ8_K).block_bytes, sizeof(BlockQ8_K));
}

TEST(DTypeTest, NamesRoundTripCaseInsensitively) {
  for (int i = 0; i < static_cast<int>(DType::kCount); ++i) {
    const auto t = static_cast<DType>(i);
    EXPECT_EQ(dtype_from_name(dtype_name(t)), t) << dtype_name(t);
  }
  EXPECT_EQ(dtype_from_name("Q4_K"), DType::kQ4_K);
  EXPECT_EQ(dtype_from_name("BF16"), DType::kBF16);
  EXPECT_FALSE(dtype_from_name("q9_9").has_value());
}

TEST(DTypeTest, RowBytesRequiresWholeBlocksAndChecksOverflow) {
  EXPECT_EQ(dtype_row_bytes(DType::kQ4_0, 64), 36u);
  EXPECT_EQ(dtype_row_bytes(DType::kF16, 3), 6u);
  EXPECT_FALSE(dtype_row_bytes(DType::kQ4_0, 33).has_value());
  EXPECT_FALSE(dtype_row_bytes(DType::kF32, UINT64_MAX / 2).has_value());
}

}  // namespace
}  // namespace hearth
