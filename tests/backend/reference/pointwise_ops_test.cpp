// Reference RMSNorm, softmax, activations and embedding lookup against numpy (float64) / the gguf
// package.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/reference/activation.h"
#include "backend/reference/dequantize.h"
#include "backend/reference/elementwise.h"
#include "backend/reference/embedding.h"
#include "backend/reference/norm.h"
#include "backend/reference/op_goldens.h"
#include "backend/reference/softmax.h"

namespace hearth {
namespace {

TEST(ReferenceRmsNormTest, MatchesNumpy) {
  const auto& cases = test::op_goldens()["rms_norm"];
  ASSERT_GE(cases.size(), 3u);
  for (const auto& c : cases) {
    const std::vector<float> x = test::floats(c["x"]), w = test::floats(c["weight"]);
    std::vector<float> y(x.size());
    reference::rms_norm(x.data(), w.data(), y.data(), c["rows"], c["dim"], c["eps"].get<float>());
    // Sum of squares in double; only float rounding of x*scale*w remains (~2 ulp).
    test::expect_close(y, test::doubles(c["y"]), 1e-7, 3e-7, "rms_norm dim " + c["dim"].dump());
  }
}

TEST(ReferenceRmsNormTest, InPlaceMatchesOutOfPlace) {
  std::vector<float> x{1, -2, 3, 4}, w{1, 1, 2, 0.5f}, y(4);
  reference::rms_norm(x.data(), w.data(), y.data(), 1, 4, 1e-5f);
  reference::rms_norm(x.data(), w.data(), x.data(), 1, 4, 1e-5f);
  EXPECT_EQ(x, y);
}

TEST(ReferenceSoftmaxTest, MatchesNumpyIncludingLargeAndInfiniteInputs) {
  for (const auto& c : test::op_goldens()["softmax"]) {
    std::vector<float> x = test::floats(c["x"]);
    reference::softmax(x.data(), static_cast<int64_t>(x.size()));
    test::expect_close(x, test::doubles(c["y"]), 1e-7, 1e-6, "softmax " + c["x"].dump());
  }
}

TEST(ReferenceSoftmaxTest, AllMinusInfinityGivesZerosNotNan) {
  std::vector<float> x(3, -INFINITY);
  reference::softmax(x.data(), 3);
  for (float v : x) EXPECT_EQ(v, 0.0f);
}

TEST(ReferenceActivationTest, MatchesNumpy) {
  const auto& c = test::op_goldens()["activation"];
  const std::vector<float> x = test::floats(c["x"]), up = test::floats(c["up"]);
  const auto n = static_cast<int64_t>(x.size());
  std::vector<float> y(x.size());
  // Computed in double and rounded once: within an ulp (plus denormal-sized slack near 0).
  reference::silu(x.data(), y.data(), n);
  test::expect_close(y, test::doubles(c["silu"]), 1e-30, 2e-7, "silu");
  reference::gelu_tanh(x.data(), y.data(), n);
  test::expect_close(y, test::doubles(c["gelu_tanh"]), 1e-30, 2e-7, "gelu_tanh");
  reference::gelu_erf(x.data(), y.data(), n);
  test::expect_close(y, test::doubles(c["gelu_erf"]), 1e-30, 2e-7, "gelu_erf");
  reference::swiglu(x.data(), up.data(), y.data(), n);
  test::expect_close(y, test::doubles(c["swiglu"]), 1e-30, 4e-7, "swiglu");
  for (float v : y) EXPECT_TRUE(std::isfinite(v));
}

TEST(ReferenceElementwiseTest, AddAllowsAliasing) {
  std::vector<float> a{1, 2, 3}, b{0.5f, -2, 10};
  reference::add(a.data(), b.data(), a.data(), 3);
  EXPECT_EQ(a, (std::vector<float>{1.5f, 0, 13}));
}

TEST(ReferenceEmbeddingTest, MatchesGgufDequantizedRows) {
  const auto& cases = test::op_goldens()["embedding"];
  ASSERT_GE(cases.size(), 4u);
  for (const auto& c : cases) {
    const DType dtype = test::dtype_named(c["dtype"]);
    std::vector<uint8_t> table = test::base64_decode(c["table_b64"]);
    const TensorView view(table.data(), dtype, Shape{c["vocab"], c["dim"]});
    ASSERT_EQ(view.nbytes(), table.size());
    const std::vector<int32_t> tokens = test::ints(c["tokens"]);
    std::vector<float> out(tokens.size() * c["dim"].get<size_t>());
    const Status st = reference::embedding(view, tokens, out.data());
    if (!reference::can_dequantize(dtype)) {
      EXPECT_EQ(st.code(), StatusCode::kUnsupported) << c["dtype"];
      continue;
    }
    ASSERT_TRUE(st.ok()) << st.to_string();
    // Dequantization is a couple of float operations on the stored scales; allow their rounding.
    test::expect_close(out, test::doubles(c["out"]), 1e-7, 3e-7, "embedding " + c["dtype"].dump());
  }
}

TEST(ReferenceEmbeddingTest, RejectsIdsOutsideTheVocabulary) {
  std::vector<float> table(3 * 4, 1.0f), out(8);
  const TensorView view(table.data(), DType::kF32, Shape{3, 4});
  for (int32_t bad : {3, -1, 1 << 30}) {
    const std::vector<int32_t> ids{0, bad};
    const Status st = reference::embedding(view, ids, out.data());
    EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
    EXPECT_NE(st.message().find(std::to_string(bad)), std::string::npos) << st.message();
  }
}

}  // namespace
}  // namespace hearth
