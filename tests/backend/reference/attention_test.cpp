// Reference causal GQA attention against numpy (float64): GQA chunk after cached positions,
// MHA prefill from 0, MQA single-token decode.
#include "backend/reference/attention.h"

#include <gtest/gtest.h>

#include "backend/reference/op_goldens.h"

namespace hearth {
namespace {

void run_case(const nlohmann::json& c, int n_threads) {
  const reference::AttentionDims dims{c["n_heads"], c["n_kv_heads"], c["head_dim"]};
  const int64_t n_keys = c["n_keys"];
  const std::vector<int32_t> positions = test::ints(c["positions"]);
  const std::vector<float> q = test::floats(c["q"]), k = test::floats(c["k"]),
                           v = test::floats(c["v"]);
  std::vector<float> out(q.size(), -7.0f);
  std::vector<float> scratch(
      static_cast<size_t>(reference::attention_scratch_floats(n_keys, n_threads)));
  ThreadPool pool(n_threads);
  const Status st = reference::attention(q.data(), static_cast<int64_t>(positions.size()), k.data(),
                                         v.data(), n_keys, dims, positions.data(),
                                         c["scale"].get<float>(), out.data(), scratch, &pool);
  ASSERT_TRUE(st.ok()) << st.to_string();
  // Outputs are convex combinations of O(1) values; float scores and sums round at ~1e-7.
  test::expect_close(
      out, test::doubles(c["out"]), 1e-5, 1e-5,
      "heads " + std::to_string(dims.n_heads) + "/" + std::to_string(dims.n_kv_heads));
}

TEST(ReferenceAttentionTest, MatchesNumpy) {
  const auto& cases = test::op_goldens()["attention"];
  ASSERT_GE(cases.size(), 3u);
  for (const auto& c : cases) run_case(c, 1);
}

TEST(ReferenceAttentionTest, ThreadCountDoesNotChangeResults) {
  for (const auto& c : test::op_goldens()["attention"]) run_case(c, 2);
}

TEST(ReferenceAttentionTest, FutureKeysAreInvisible) {
  // Changing keys/values after a query's position must not change its output (causality).
  const reference::AttentionDims dims{1, 1, 2};
  std::vector<float> q{1, 0.5f}, k{1, 0, 0, 1, 3, 3}, v{1, 2, 3, 4, 5, 6};
  std::vector<float> out1(2), out2(2), scratch(3);
  const int32_t pos = 1;
  ASSERT_TRUE(reference::attention(q.data(), 1, k.data(), v.data(), 3, dims, &pos, 1.0f,
                                   out1.data(), scratch, nullptr)
                  .ok());
  k[4] = -50;
  v[5] = 1000;
  ASSERT_TRUE(reference::attention(q.data(), 1, k.data(), v.data(), 3, dims, &pos, 1.0f,
                                   out2.data(), scratch, nullptr)
                  .ok());
  EXPECT_EQ(out1, out2);
}

TEST(ReferenceAttentionTest, RejectsPositionsOutsideTheCacheAndBadHeads) {
  std::vector<float> q(4), k(8), v(8), out(4), scratch(16);
  const int32_t pos = 4;  // only 4 keys: positions 0..3
  Status st = reference::attention(q.data(), 1, k.data(), v.data(), 4, {2, 1, 2}, &pos, 1.0f,
                                   out.data(), scratch, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("position 4"), std::string::npos) << st.message();
  const int32_t ok = 1;
  st = reference::attention(q.data(), 1, k.data(), v.data(), 4, {3, 2, 2}, &ok, 1.0f, out.data(),
                            scratch, nullptr);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hearth
