// hearth's llama forward pass on the reference backend with the real default model
// Hugging Face transformers on the same GGUF (fixtures/models/make_logit_goldens.py).
//
// Both sides compute in float32 from the same dequantized weights; they differ only in
// summation order, in transformers undoing llama.cpp's q/k permutation where hearth rotates
// adjacent pairs instead, and in RoPE angles (float32 there, float64 here). Observed: at most
// 3e-5 on the top-64 logits of these prompts (logits span about -20..+30). So:
//  - kTopAbsTol = 1e-3 on the 64 largest logits (stored as exact float32): 30x the observed
//    error and the ~1e-3 one expects from float32 round-off over 30 layers, while any real
//    mistake (wrong rope layout or base, a missing bias or norm weight, an off-by-one position,
//    a wrong epsilon) moves logits by 0.05 to 10;
//  - on the full vector (stored as float16, whose rounding is at most 2^-11 relative) the same
//    tolerance plus the float16 half-ulp;
//  - the top-5 ids must agree as a set, and the best id exactly;
//  - the 32-token greedy continuation must match exactly: the reference's smallest margin
//    between the best and second-best logit over all steps is 0.0117 (recorded per prompt in
//    the fixture), more than 10x kTopAbsTol.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/fp16.h"
#include "models/load_model.h"
#include "support/test_support.h"

namespace hearth {
namespace {

constexpr double kTopAbsTol = 1e-3;
constexpr int kThreads = 2;

const nlohmann::json& goldens() {
  static const nlohmann::json g = nlohmann::json::parse(
      test::read_file_text(test::fixture_path("models/smollm2_logit_goldens.json")), nullptr,
      false);
  return g;
}

std::vector<float> reference_logits_f16(const nlohmann::json& prompt) {
  const std::vector<uint8_t> bytes = test::read_file_bytes(
      test::fixture_path("models/" + prompt["logits_f16_file"].get<std::string>()));
  std::vector<float> v(bytes.size() / 2);
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = fp16_to_f32(static_cast<uint16_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8)));
  }
  return v;
}

std::vector<int32_t> top_ids(const std::vector<float>& logits, size_t k) {
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  ids.resize(k);
  return ids;
}

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

class LlamaGoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = test::default_model_path();
    if (!path) GTEST_SKIP() << "default model not found; run scripts/bootstrap.sh test";
    ASSERT_FALSE(goldens().is_discarded()) << "cannot read smollm2_logit_goldens.json";
    LoadOptions options;
    options.n_threads = kThreads;
    options.backend = "reference";
    auto model = load_model(*path, options);
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    model_ = std::move(model).value();
  }
  std::unique_ptr<Model> model_;
};

TEST_F(LlamaGoldenTest, ModelInfoMatchesTheGgufMetadata) {
  const ModelInfo& info = model_->info();
  EXPECT_EQ(info.architecture, "llama");
  EXPECT_EQ(info.vocab_size, 49152);
  EXPECT_EQ(info.context_length, 8192);
  EXPECT_EQ(info.n_layers, 30);
  EXPECT_EQ(info.d_model, 576);
  EXPECT_EQ(info.n_heads, 9);
  EXPECT_EQ(info.n_kv_heads, 3);
  EXPECT_EQ(info.head_dim, 64);
}

// One test per prompt, so each stays well inside the per-test timeout under the sanitizers.
class LlamaGoldenPromptTest : public LlamaGoldenTest,
                              public ::testing::WithParamInterface<size_t> {};

TEST_P(LlamaGoldenPromptTest, LastTokenLogitsAndGreedyContinuationMatchTransformers) {
  const auto& prompts = goldens()["prompts"];
  ASSERT_EQ(prompts.size(), 5u);
  const int64_t vocab = model_->info().vocab_size;
  const size_t p = GetParam();
  SCOPED_TRACE("prompt " + std::to_string(p) + ": " + prompts[p]["text"].get<std::string>());
  const auto& prompt = prompts[p];
  const auto ids = prompt["token_ids"].get<std::vector<int32_t>>();
  auto cache = model_->new_kv_cache(512);
  ASSERT_TRUE(cache.ok()) << cache.status().to_string();
  std::vector<float> logits(static_cast<size_t>(vocab));
  const Status st = model_->forward(**cache, ids, LogitsFor::kLastToken, logits);
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ((*cache)->size(), static_cast<int64_t>(ids.size()));

  // The 64 largest reference logits, exact float32.
  const auto ref_ids = prompt["top_ids"].get<std::vector<int32_t>>();
  const auto ref_values = prompt["top_values"].get<std::vector<float>>();
  double top_err = 0;
  for (size_t i = 0; i < ref_ids.size(); ++i) {
    top_err = std::max(top_err, std::abs(double(logits[ref_ids[i]]) - ref_values[i]));
  }
  EXPECT_LE(top_err, kTopAbsTol);

  // Every logit against the float16 copy of the reference.
  const std::vector<float> ref_full = reference_logits_f16(prompt);
  ASSERT_EQ(ref_full.size(), logits.size());
  double full_excess = -1, full_err = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const double err = std::abs(double(logits[i]) - ref_full[i]);
    full_err = std::max(full_err, err);
    full_excess = std::max(full_excess, err - (kTopAbsTol + std::abs(ref_full[i]) * 0x1p-11));
  }
  EXPECT_LE(full_excess, 0.0) << "max abs error vs float16 reference " << full_err;

  // Top-5 agreement.
  std::vector<int32_t> ours = top_ids(logits, 5);
  std::vector<int32_t> theirs(ref_ids.begin(), ref_ids.begin() + 5);
  EXPECT_EQ(ours[0], theirs[0]);
  std::sort(ours.begin(), ours.end());
  std::sort(theirs.begin(), theirs.end());
  EXPECT_EQ(ours, theirs);
  std::printf("[ prompt %zu ] %zu tokens: max abs error top-64 %.2e, all %.2e (vs f16)\n", p,
              ids.size(), top_err, full_err);

  // The 32-token greedy continuation, checked by teacher forcing: feeding the reference's
  // tokens after the prompt in one pass, each position's argmax must be the next reference
  // token. That holds exactly when greedy decoding reproduces the sequence, at the cost of one
  // prefill instead of 32 decode steps (which matters under the sanitizers). Real one-token
  // decode steps are checked by GreedyDecodeStepByStep below.
  const auto want = prompt["greedy_ids"].get<std::vector<int32_t>>();
  EXPECT_EQ(argmax(logits), want[0]);
  const std::span<const int32_t> forced(want.data(), want.size() - 1);
  std::vector<float> all(forced.size() * static_cast<size_t>(vocab));
  ASSERT_TRUE(model_->forward(**cache, forced, LogitsFor::kAllTokens, all).ok());
  std::vector<int32_t> got{argmax(logits)};
  for (size_t i = 0; i < forced.size(); ++i) {
    got.push_back(argmax(std::span<const float>(all).subspan(i * static_cast<size_t>(vocab),
                                                             static_cast<size_t>(vocab))));
  }
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(FivePrompts, LlamaGoldenPromptTest, ::testing::Range<size_t>(0, 5));

TEST_F(LlamaGoldenTest, GreedyDecodeStepByStep) {
  const auto& prompt = goldens()["prompts"][0];
  const auto ids = prompt["token_ids"].get<std::vector<int32_t>>();
  const auto want = prompt["greedy_ids"].get<std::vector<int32_t>>();
  auto cache = model_->new_kv_cache(64);
  ASSERT_TRUE(cache.ok());
  std::vector<float> logits(static_cast<size_t>(model_->info().vocab_size));
  ASSERT_TRUE(model_->forward(**cache, ids, LogitsFor::kLastToken, logits).ok());
  std::vector<int32_t> got;
  for (size_t i = 0; i < want.size(); ++i) {
    got.push_back(argmax(logits));
    const int32_t next = got.back();
    const Status step = model_->forward(**cache, {&next, 1}, LogitsFor::kLastToken, logits);
    ASSERT_TRUE(step.ok()) << step.to_string();
  }
  EXPECT_EQ(got, want);
}

TEST_F(LlamaGoldenTest, ChunkedPrefillAndAllTokenLogitsAgreeWithOneShotPrefill) {
  const auto& prompt = goldens()["prompts"][3];  // 38 tokens
  const auto ids = prompt["token_ids"].get<std::vector<int32_t>>();
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t vocab = model_->info().vocab_size;
  auto cache = model_->new_kv_cache(0);
  ASSERT_TRUE(cache.ok());
  std::vector<float> all(static_cast<size_t>(n * vocab));
  ASSERT_TRUE(model_->forward(**cache, ids, LogitsFor::kAllTokens, all).ok());

  // The same prompt in pieces of 1, 7 and the rest, the rest in chunks: positions continue
  // from the cache.
  LoadOptions small_batch;
  small_batch.n_threads = kThreads;
  small_batch.backend = "reference";
  small_batch.max_batch_tokens = 16;  // the 30 tokens after the first 8 run in 2 chunks
  auto chunked_model = load_model(*test::default_model_path(), small_batch);
  ASSERT_TRUE(chunked_model.ok());
  auto chunked_cache = (*chunked_model)->new_kv_cache(256);
  ASSERT_TRUE(chunked_cache.ok());
  std::vector<float> last(static_cast<size_t>(vocab));
  const std::span<const int32_t> span(ids);
  ASSERT_TRUE(
      (*chunked_model)->forward(**chunked_cache, span.first(1), LogitsFor::kLastToken, last).ok());
  ASSERT_TRUE((*chunked_model)
                  ->forward(**chunked_cache, span.subspan(1, 7), LogitsFor::kLastToken, last)
                  .ok());
  ASSERT_TRUE((*chunked_model)
                  ->forward(**chunked_cache, span.subspan(8), LogitsFor::kLastToken, last)
                  .ok());
  EXPECT_EQ((*chunked_cache)->size(), n);

  // Same arithmetic per row whatever the chunking (the reference ops are row-independent), so
  // the last row must agree to float round-off; and the first row of the all-token logits is
  // the one-token prefill.
  double err = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    err = std::max(err, std::abs(double(last[i]) - all[static_cast<size_t>((n - 1) * vocab + i)]));
  }
  EXPECT_LE(err, 1e-4);
  const auto ref_ids = prompt["top_ids"].get<std::vector<int32_t>>();
  const auto ref_values = prompt["top_values"].get<std::vector<float>>();
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(all[static_cast<size_t>((n - 1) * vocab + ref_ids[i])], ref_values[i], kTopAbsTol);
  }
}

TEST_F(LlamaGoldenTest, ContextLimitIsEnforcedWithoutTruncation) {
  // The model's own limit.
  auto too_big = model_->new_kv_cache(8193);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(too_big.status().message().find("8192"), std::string::npos)
      << too_big.status().message();

  // A sequence limited to 16 positions: 17 tokens are refused whole, the cache untouched.
  auto cache = model_->new_kv_cache(16);
  ASSERT_TRUE(cache.ok());
  std::vector<int32_t> tokens(17, 42);
  std::vector<float> logits(static_cast<size_t>(model_->info().vocab_size));
  Status st = model_->forward(**cache, tokens, LogitsFor::kLastToken, logits);
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  EXPECT_NE(st.message().find("17 tokens do not fit"), std::string::npos) << st.message();
  EXPECT_EQ((*cache)->size(), 0);
  tokens.resize(10);
  ASSERT_TRUE(model_->forward(**cache, tokens, LogitsFor::kLastToken, logits).ok());
  tokens.resize(7);
  st = model_->forward(**cache, tokens, LogitsFor::kLastToken, logits);
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  EXPECT_EQ((*cache)->size(), 10);
  tokens.resize(6);
  EXPECT_TRUE(model_->forward(**cache, tokens, LogitsFor::kLastToken, logits).ok());
  EXPECT_EQ((*cache)->size(), 16);
}

TEST_F(LlamaGoldenTest, BadTokenIdsAndBufferSizesAreRefused) {
  auto cache = model_->new_kv_cache(32);
  ASSERT_TRUE(cache.ok());
  std::vector<float> logits(static_cast<size_t>(model_->info().vocab_size));
  const std::vector<int32_t> bad{1, 49152};
  Status st = model_->forward(**cache, bad, LogitsFor::kLastToken, logits);
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  EXPECT_NE(st.message().find("49152"), std::string::npos) << st.message();
  const std::vector<int32_t> good{1, 2};
  st = model_->forward(**cache, good, LogitsFor::kAllTokens, logits);  // needs 2 * vocab
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(model_->forward(**cache, {}, LogitsFor::kLastToken, logits).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*cache)->size(), 0);
}

TEST(LlamaGoldenLoadTest, Gemma3IsRefusedAsUnsupportedArchitecture) {
  HEARTH_REQUIRE_PATH(path, test::gemma3_model_path(), "Gemma 3 270M");
  LoadOptions options;
  options.backend = "reference";
  auto model = load_model(path, options);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(model.status().message().find("unsupported architecture gemma3"), std::string::npos)
      << model.status().message();
  EXPECT_NE(model.status().message().find("llama"), std::string::npos)
      << "the message should list what is supported: " << model.status().message();
}

}  // namespace
}  // namespace hearth
