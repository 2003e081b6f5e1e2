// Reference dequantization against goldens from the gguf Python package
// (tests/fixtures/gguf/make_dequant_goldens.py): random blocks with sane scales, and blocks gguf
// quantized from real weights. Real-model tensors are covered by tests/formats/gguf.
#include "backend/reference/dequantize.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace hearth::reference {
namespace {

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

std::vector<float> floats_from_hex(const std::string& hex) {
  const std::vector<uint8_t> bytes = from_hex(hex);
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

// Both sides evaluate the same float32 expression (scale * quant [- min]) with one rounding per
// operation in the same order, so results are normally bit-identical. The tolerance admits one
// extra rounding of a term no larger than the block's largest magnitude, which is what FMA
// contraction (e.g. -march=native builds) can change: 2 * FLT_EPSILON * max|x| per block.
void expect_block_values_match(const std::vector<float>& got, const std::vector<float>& want,
                               int64_t block_elems, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int64_t mismatches = 0;
  for (size_t b = 0; b < want.size(); b += static_cast<size_t>(block_elems)) {
    float block_max = 0;
    for (int64_t j = 0; j < block_elems; ++j)
      block_max = std::max(block_max, std::fabs(want[b + j]));
    const float tol = 2 * FLT_EPSILON * block_max;
    for (int64_t j = 0; j < block_elems; ++j) {
      const size_t i = b + static_cast<size_t>(j);
      if (!(std::fabs(got[i] - want[i]) <= tol) && mismatches++ < 5) {
        ADD_FAILURE() << what << " element " << i << " (block " << b / block_elems << "): hearth "
                      << got[i] << " vs gguf " << want[i];
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << what;
}

class DequantizeGoldenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DequantizeGoldenTest, MatchesGguf) {
  const std::string type_name = GetParam();
  const std::string path = test::fixture_path("gguf/dequant/" + type_name + ".json");
  const std::string text = test::read_file_text(path);
  ASSERT_FALSE(text.empty()) << "missing golden " << path;
  const auto golden = nlohmann::json::parse(text);
  const auto dtype = dtype_from_name(type_name);
  ASSERT_TRUE(dtype.has_value()) << type_name;
  ASSERT_TRUE(can_dequantize(*dtype)) << type_name;
  const DTypeTraits& tr = dtype_traits(*dtype);

  int cases = 0;
  for (const char* kind : {"synthetic", "from_weights"}) {
    if (!golden.contains(kind)) continue;
    const auto& c = golden[kind];
    const std::vector<uint8_t> blocks = from_hex(c["blocks_hex"].get<std::string>());
    const std::vector<float> want = floats_from_hex(c["values_f32_hex"].get<std::string>());
    const auto n_blocks = c["blocks"].get<int64_t>();
    ASSERT_EQ(blocks.size(), static_cast<size_t>(n_blocks) * tr.block_bytes) << kind;
    ASSERT_EQ(want.size(), static_cast<size_t>(n_blocks) * tr.block_elems) << kind;

    // Misaligned on purpose: the reference must not assume block alignment.
    std::vector<uint8_t> shifted(blocks.size() + 1);
    std::memcpy(shifted.data() + 1, blocks.data(), blocks.size());
    std::vector<float> got(want.size(), NAN);
    ASSERT_TRUE(
        dequantize_row(*dtype, shifted.data() + 1, got.data(), static_cast<int64_t>(want.size()))
            .ok());
    expect_block_values_match(got, want, tr.block_elems, type_name + " " + kind);
    ++cases;
  }
  EXPECT_GE(cases, 1);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DequantizeGoldenTest,
                         ::testing::Values("q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q8_1", "q2_k",
                                           "q3_k", "q4_k", "q5_k", "q6_k", "q8_k", "iq4_nl",
                                           "iq4_xs", "tq1_0", "tq2_0", "mxfp4"),
                         [](const auto& param_info) { return std::string(param_info.param); });

TEST(DequantizeTest, RejectsPartialBlocksAndUnsupportedTypes) {
  std::vector<uint8_t> src(256);
  std::vector<float> dst(64);
  const Status partial = dequantize_row(DType::kQ4_0, src.data(), dst.data(), 33);
  EXPECT_EQ(partial.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(partial.message().find("q4_0"), std::string::npos) << partial.message();
  const Status grid = dequantize_row(DType::kIQ2_XXS, src.data(), dst.data(), 256);
  EXPECT_EQ(grid.code(), StatusCode::kUnsupported);
  EXPECT_NE(grid.message().find("iq2_xxs"), std::string::npos) << grid.message();
  EXPECT_FALSE(can_dequantize(DType::kIQ2_XXS));
}

TEST(DequantizeTest, PlainTypesConvert) {
  const uint16_t f16[2] = {0x3c00, 0xc000};   // 1, -2
  const uint16_t bf16[2] = {0x3f80, 0x4040};  // 1, 3
  const double f64[2] = {0.5, -1e300};
  float out[2];
  ASSERT_TRUE(dequantize_row(DType::kF16, f16, out, 2).ok());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  ASSERT_TRUE(dequantize_row(DType::kBF16, bf16, out, 2).ok());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 3.0f);
  ASSERT_TRUE(dequantize_row(DType::kF64, f64, out, 2).ok());
  EXPECT_EQ(out[0], 0.5f);
  EXPECT_TRUE(std::isinf(out[1]) && out[1] < 0);
}

TEST(DequantizeTest, RowsOfAViewAndRangeChecks) {
  // [3, 32] Q8_0: row r has d = 1 and quants q[j] = r * 10 + j - 16.
  std::vector<uint8_t> data(3 * 34);
  for (int r = 0; r < 3; ++r) {
    const uint16_t one = 0x3c00;
    std::memcpy(&data[static_cast<size_t>(r) * 34], &one, 2);
    for (int j = 0; j < 32; ++j)
      data[static_cast<size_t>(r) * 34 + 2 + j] = static_cast<uint8_t>(r * 10 + j - 16);
  }
  const TensorView view(data.data(), DType::kQ8_0, Shape{3, 32});
  std::vector<float> out(64);
  ASSERT_TRUE(dequantize_rows(view, 1, 2, out.data()).ok());
  EXPECT_EQ(out[0], -6.0f);        // row 1, j = 0
  EXPECT_EQ(out[32 + 31], 35.0f);  // row 2, j = 31
  EXPECT_EQ(dequantize_rows(view, 2, 2, out.data()).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(dequantize_rows(view, -1, 1, out.data()).code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace hearth::reference
