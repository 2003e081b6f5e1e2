// The Backend interface as implemented by ReferenceBackend: load-time refusals name the tensor,
// shape mismatches are errors (never out-of-bounds access), and ops route to the reference
// kernels (checked against numpy goldens here too).
#include "backend/reference/reference_backend.h"

#include <gtest/gtest.h>

#include <cstring>

#include "backend/reference/op_goldens.h"
#include "core/fp16.h"

namespace hearth {
namespace {

TensorView f32_view(std::vector<float>& v, Shape shape) {
  return TensorView(v.data(), DType::kF32, shape);
}

TEST(ReferenceBackendTest, PrepareMatrixIsZeroCopyAndRefusesUnknownTypesByName) {
  ReferenceBackend backend(1);
  std::vector<uint8_t> q4(18 * 4);
  const TensorView stored(q4.data(), DType::kQ4_0, Shape{2, 64});
  auto prepared = backend.prepare_matrix("blk.0.attn_q.weight", stored);
  ASSERT_TRUE(prepared.ok()) << prepared.status().to_string();
  EXPECT_EQ(prepared->data(), stored.data());
  EXPECT_EQ(prepared->dtype(), DType::kQ4_0);

  std::vector<uint8_t> raw(4096);
  const TensorView iq(raw.data(), DType::kIQ2_XXS, Shape{2, 256});
  auto refused = backend.prepare_matrix("blk.3.ffn_up.weight", iq);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(refused.status().message().find("blk.3.ffn_up.weight"), std::string::npos);
  EXPECT_NE(refused.status().message().find("iq2_xxs"), std::string::npos);

  const TensorView vec(raw.data(), DType::kF32, Shape{16});
  EXPECT_EQ(backend.prepare_matrix("v", vec).status().code(), StatusCode::kInvalidArgument);
}

TEST(ReferenceBackendTest, PrepareVectorConvertsToOwnedF32) {
  ReferenceBackend backend(1);
  std::vector<uint16_t> half{f32_to_fp16(1.5f), f32_to_fp16(-2.0f), f32_to_fp16(0.25f)};
  const TensorView stored(half.data(), DType::kF16, Shape{3});
  auto prepared = backend.prepare_vector("output_norm.weight", stored);
  ASSERT_TRUE(prepared.ok()) << prepared.status().to_string();
  ASSERT_EQ(prepared->dtype(), DType::kF32);
  ASSERT_NE(prepared->data(), stored.data());
  const float* p = prepared->data_as<float>();
  EXPECT_EQ(p[0], 1.5f);
  EXPECT_EQ(p[1], -2.0f);
  EXPECT_EQ(p[2], 0.25f);
}

TEST(ReferenceBackendTest, AllocateGivesAlignedBuffersAndViewsCheckTheirSize) {
  ReferenceBackend backend(1);
  auto buf = backend.allocate(100 * sizeof(float));
  ASSERT_TRUE(buf.ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buf->data()) % 64, 0u);
  EXPECT_FALSE(buf->view(DType::kF32, Shape{10, 10}).empty());
  EXPECT_TRUE(buf->view(DType::kF32, Shape{10, 11}).empty());
  EXPECT_TRUE(buf->view(DType::kF32, Shape{10, 10}, 4).empty());
  auto huge = backend.allocate(SIZE_MAX - 8);
  EXPECT_EQ(huge.status().code(), StatusCode::kResourceExhausted);
}

TEST(ReferenceBackendTest, MatmulMatchesNumpyThroughTheInterface) {
  ReferenceBackend backend(2);
  int checked = 0;
  for (const auto& c : test::op_goldens()["matmul"]) {
    if (c["dtype"] != "q4_1" && c["dtype"] != "q8_0") continue;
    const int64_t n = c["n"], k = c["k"], t = c["t"];
    std::vector<uint8_t> raw = test::base64_decode(c["weight_b64"]);
    auto w = backend.prepare_matrix(
        "w", TensorView(raw.data(), test::dtype_named(c["dtype"]), Shape{n, k}));
    ASSERT_TRUE(w.ok());
    std::vector<float> x = test::floats(c["x"]), y(static_cast<size_t>(t * n));
    std::vector<float> bias;
    TensorView bias_view;
    if (!c["bias"].is_null()) {
      bias = test::floats(c["bias"]);
      bias_view = f32_view(bias, Shape{n});
    }
    ASSERT_TRUE(backend
                    .matmul(f32_view(x, Shape{t, k}), *w, bias.empty() ? nullptr : &bias_view,
                            f32_view(y, Shape{t, n}))
                    .ok());
    const auto want = test::doubles(c["y"]);
    const auto abs_sum = test::doubles(c["y_abs"]);
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-5 * abs_sum[i] + 1e-6);
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

TEST(ReferenceBackendTest, ShapeMismatchesAreErrorsNamingTheShapes) {
  ReferenceBackend backend(1);
  std::vector<float> a(12), b(12), c(12);
  std::vector<float> w(4 * 5);
  const TensorView wv(w.data(), DType::kF32, Shape{4, 5});
  // K mismatch: x has 3 columns, w has 5.
  Status st = backend.matmul(f32_view(a, Shape{4, 3}), wv, nullptr, f32_view(c, Shape{4, 4}));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("[4, 3]"), std::string::npos) << st.message();
  // Output rows mismatch.
  std::vector<float> x(10);
  st = backend.matmul(f32_view(x, Shape{2, 5}), wv, nullptr, f32_view(c, Shape{3, 4}));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  // Bias of the wrong length.
  std::vector<float> bias(3);
  const TensorView bv = f32_view(bias, Shape{3});
  st = backend.matmul(f32_view(x, Shape{2, 5}), wv, &bv, f32_view(c, Shape{2, 4}));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  // Elementwise size mismatch.
  EXPECT_EQ(
      backend.add(f32_view(a, Shape{12}), f32_view(b, Shape{11}), f32_view(c, Shape{12})).code(),
      StatusCode::kInvalidArgument);
  // Rope with a position count that does not match.
  const std::vector<int32_t> positions{0, 1};
  RopeSpec spec{RopeLayout::kNeox, 2, {1.0}};
  EXPECT_EQ(backend.rope(f32_view(a, Shape{3, 2, 2}), positions, spec).code(),
            StatusCode::kInvalidArgument);
  // Attention with keys and values of different shapes.
  std::vector<float> q(4), k(8), v(12), out(4);
  const std::vector<int32_t> one{0};
  EXPECT_EQ(backend
                .attention(f32_view(q, Shape{1, 2, 2}), f32_view(k, Shape{2, 2, 2}),
                           f32_view(v, Shape{3, 2, 2}), one, 1.0f, f32_view(out, Shape{1, 2, 2}))
                .code(),
            StatusCode::kInvalidArgument);
  // Read into a host span of the wrong size.
  std::vector<float> host(5);
  EXPECT_EQ(backend.read(f32_view(a, Shape{12}), host).code(), StatusCode::kInvalidArgument);
}

TEST(ReferenceBackendTest, AttentionGrowsScratchBeyondThePlan) {
  ReferenceBackend backend(2);
  ASSERT_TRUE(backend.reserve_scratch({1, 8, 2, 1}).ok());
  // 5 keys although the plan said 2: scratch grows once instead of failing or overflowing.
  std::vector<float> q(4, 0.5f), k(5 * 4, 1.0f), v(5 * 4, 2.0f), out(4);
  const std::vector<int32_t> pos{4};
  ASSERT_TRUE(backend
                  .attention(f32_view(q, Shape{1, 1, 4}), f32_view(k, Shape{5, 1, 4}),
                             f32_view(v, Shape{5, 1, 4}), pos, 0.5f, f32_view(out, Shape{1, 1, 4}))
                  .ok());
  for (float o : out) EXPECT_FLOAT_EQ(o, 2.0f);
}

TEST(ReferenceBackendTest, CopyAndReadMoveBytes) {
  ReferenceBackend backend(1);
  std::vector<float> src{1, 2, 3, 4, 5, 6}, dst(6), host(6);
  ASSERT_TRUE(backend.copy(f32_view(src, Shape{2, 3}), f32_view(dst, Shape{3, 2})).ok());
  EXPECT_EQ(dst, src);
  ASSERT_TRUE(backend.read(f32_view(dst, Shape{6}), host).ok());
  EXPECT_EQ(host, src);
  std::vector<float> small(5);
  EXPECT_EQ(backend.copy(f32_view(src, Shape{6}), f32_view(small, Shape{5})).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hearth
