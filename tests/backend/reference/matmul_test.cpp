// Reference matmul against numpy (float64) on weights quantized and dequantized by the gguf
// package, for every storage type.
#include "backend/reference/matmul.h"

#include <gtest/gtest.h>

#include "backend/reference/dequantize.h"
#include "backend/reference/op_goldens.h"

namespace hearth {
namespace {

using test::op_goldens;

// A float32 dot of K terms is off from the exact sum by at most ~K * 2^-24 * sum|x_k w_k| and
// typically ~sqrt(K) * 2^-24 times that; 1e-5 of sum|x_k w_k| leaves ample room for the
// summation order while a single wrong term (~sum / K >= 4e-3 of it for K <= 256) cannot hide.
constexpr double kRelToAbsSum = 1e-5;

void run_case(const nlohmann::json& c, int n_threads) {
  const DType dtype = test::dtype_named(c["dtype"]);
  const int64_t n = c["n"], k = c["k"], t = c["t"];
  std::vector<uint8_t> weight = test::base64_decode(c["weight_b64"]);
  const TensorView w(weight.data(), dtype, Shape{n, k});
  ASSERT_EQ(w.nbytes(), weight.size()) << c["dtype"];
  const std::vector<float> x = test::floats(c["x"]);
  std::vector<float> bias;
  if (!c["bias"].is_null()) bias = test::floats(c["bias"]);
  std::vector<float> y(static_cast<size_t>(t * n), -1.0f);
  std::vector<float> scratch(static_cast<size_t>(reference::matmul_scratch_floats(k, n_threads)));
  ThreadPool pool(n_threads);
  const Status st = reference::matmul(x.data(), t, w, bias.empty() ? nullptr : bias.data(),
                                      y.data(), scratch, &pool);
  if (!reference::can_dequantize(dtype)) {
    // Types without reference dequantization yet must be refused by name, not mis-multiplied.
    EXPECT_EQ(st.code(), StatusCode::kUnsupported) << st.to_string();
    EXPECT_NE(st.message().find(std::string(c["dtype"])), std::string::npos) << st.message();
    return;
  }
  ASSERT_TRUE(st.ok()) << st.to_string();
  const std::vector<double> want = test::doubles(c["y"]);
  const std::vector<double> abs_sum = test::doubles(c["y_abs"]);
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_NEAR(y[i], want[i], kRelToAbsSum * abs_sum[i] + 1e-6)
        << c["dtype"] << " n=" << n << " k=" << k << " t=" << t << " element " << i;
  }
}

TEST(ReferenceMatmulTest, MatchesNumpyForEveryStorageType) {
  const auto& cases = op_goldens()["matmul"];
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) run_case(c, 1);
}

TEST(ReferenceMatmulTest, ThreadCountDoesNotChangeResults) {
  for (const auto& c : op_goldens()["matmul"]) {
    if (reference::can_dequantize(test::dtype_named(c["dtype"]))) run_case(c, 3);
  }
}

TEST(ReferenceMatmulTest, DequantizedTypesIncludeTheDefaultModelsTypes) {
  // The default model stores Q4_1 and Q8_0 weights; their matmul must be implemented.
  EXPECT_TRUE(reference::can_dequantize(DType::kQ4_1));
  EXPECT_TRUE(reference::can_dequantize(DType::kQ8_0));
}

TEST(ReferenceMatmulTest, RejectsTooSmallScratchAndNon2dWeights) {
  std::vector<float> w(8 * 4, 1.0f), x(4, 1.0f), y(8);
  std::vector<float> scratch(3);
  const TensorView view(w.data(), DType::kF32, Shape{8, 4});
  Status st = reference::matmul(x.data(), 1, view, nullptr, y.data(), scratch, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  const TensorView flat(w.data(), DType::kF32, Shape{32});
  std::vector<float> big(64);
  st = reference::matmul(x.data(), 1, flat, nullptr, y.data(), big, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

TEST(ReferenceMatmulTest, RefusesTypesWithoutDequantization) {
  std::vector<uint8_t> w(1024);
  const TensorView view(w.data(), DType::kI32, Shape{4, 64});
  std::vector<float> x(64), y(4), scratch(64);
  const Status st = reference::matmul(x.data(), 1, view, nullptr, y.data(), scratch, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_NE(st.message().find("i32"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace hearth
