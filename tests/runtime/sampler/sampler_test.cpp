// Sampler edge cases: bad logits and parameters give clear errors, degenerate settings behave
// as documented, seeds reproduce, and greedy ties resolve to the lowest id.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "runtime/sampler/logit_math.h"
#include "runtime/sampler/sampler.h"

namespace hearth {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

Sampler make(SamplingParams params, int32_t vocab) {
  auto sampler = Sampler::create(params, vocab);
  EXPECT_TRUE(sampler.ok()) << sampler.status().to_string();
  return std::move(sampler).value();
}

std::vector<float> ramp(int32_t n) {
  std::vector<float> logits(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) logits[static_cast<size_t>(i)] = std::sin(0.37f * i) * 3.0f;
  return logits;
}

TEST(Sampler, NanLogitIsAnErrorNamingTheToken) {
  Sampler sampler = make({}, 8);
  std::vector<float> logits(8, 0.5f);
  logits[5] = std::numeric_limits<float>::quiet_NaN();
  auto token = sampler.sample(logits);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(token.status().message().find("token 5"), std::string::npos)
      << token.status().message();
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  EXPECT_FALSE(make(greedy, 8).sample(logits).ok());
}

TEST(Sampler, PositiveInfinityIsAnError) {
  std::vector<float> logits(4, 0.0f);
  logits[2] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(make({}, 4).sample(logits).ok());
}

TEST(Sampler, WrongLogitCountIsAnError) {
  auto token = make({}, 8).sample(std::vector<float>(7, 0.0f));
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.status().message().find("expected 8 logits"), std::string::npos);
}

TEST(Sampler, AllNegativeInfinityIsAnError) {
  const std::vector<float> logits(16, kNegInf);
  for (float temperature : {0.0f, 1.0f}) {
    SamplingParams params;
    params.temperature = temperature;
    auto token = make(params, 16).sample(logits);
    ASSERT_FALSE(token.ok());
    EXPECT_NE(token.status().message().find("-inf"), std::string::npos);
  }
}

TEST(Sampler, BiasCanBanEveryFiniteTokenButOne) {
  std::vector<float> logits = {1.0f, kNegInf, 3.0f, 2.0f};
  SamplingParams params;
  params.logit_bias = {{2, -100.0f}, {3, -100.0f}};
  params.seed = 1;
  Sampler sampler = make(params, 4);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sampler.sample(logits)->token, 0);
}

TEST(Sampler, TopPZeroAndTopKOneAreGreedy) {
  const auto logits = ramp(1000);
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  const int32_t argmax = make(greedy, 1000).sample(logits)->token;
  SamplingParams top_p_zero;
  top_p_zero.top_p = 0.0f;
  top_p_zero.temperature = 5.0f;
  SamplingParams top_k_one;
  top_k_one.top_k = 1;
  Sampler a = make(top_p_zero, 1000);
  Sampler b = make(top_k_one, 1000);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(a.sample(logits)->token, argmax);
    EXPECT_EQ(b.sample(logits)->token, argmax);
  }
}

TEST(Sampler, GreedyTieGoesToTheLowestId) {
  std::vector<float> logits = {0.0f, 2.0f, 1.0f, 2.0f, 2.0f};
  SamplingParams params;
  params.temperature = 0.0f;
  EXPECT_EQ(make(params, 5).sample(logits)->token, 1);
  params.temperature = 1.0f;
  params.top_p = 0.0f;  // the nucleus of one: the same tie rule
  EXPECT_EQ(make(params, 5).sample(logits)->token, 1);
}

TEST(Sampler, TopKLargerThanVocabKeepsEverything) {
  const auto logits = ramp(50);
  SamplingParams params;
  params.top_k = 1000000;
  Sampler sampler = make(params, 50);
  auto dist = sampler.distribution(logits);
  ASSERT_TRUE(dist.ok());
  EXPECT_EQ(dist->size(), 50u);
  double total = 0.0;
  for (const auto& tp : *dist) total += tp.probability;
  EXPECT_NEAR(total, 1.0, 1e-9);
}

TEST(Sampler, MinPOneKeepsOnlyTheMaximum) {
  std::vector<float> logits = {0.5f, 3.0f, 3.0f, 2.9f};
  SamplingParams params;
  params.min_p = 1.0f;
  Sampler sampler = make(params, 4);
  auto dist = sampler.distribution(logits);
  ASSERT_TRUE(dist.ok());
  std::set<int32_t> kept;
  for (const auto& tp : *dist) kept.insert(tp.token);
  EXPECT_EQ(kept, (std::set<int32_t>{1, 2}));
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  const auto logits = ramp(5000);
  SamplingParams params;
  params.temperature = 1.5f;
  params.seed = 42;
  Sampler a = make(params, 5000);
  Sampler b = make(params, 5000);
  params.seed = 43;
  Sampler c = make(params, 5000);
  std::vector<int32_t> ta, tb, tc;
  for (int i = 0; i < 200; ++i) {
    ta.push_back(a.sample(logits)->token);
    tb.push_back(b.sample(logits)->token);
    tc.push_back(c.sample(logits)->token);
  }
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, tc);
}

TEST(Sampler, RepetitionPenaltyOnlyLooksInsideTheWindow) {
  // Token 0 and 1 tie; penalising token 0 makes greedy pick 1, until 0 leaves the window.
  std::vector<float> logits = {2.0f, 2.0f, -1.0f};
  SamplingParams params;
  params.temperature = 0.0f;
  params.repetition_penalty = 1.5f;
  params.penalty_window = 2;
  Sampler sampler = make(params, 3);
  EXPECT_EQ(sampler.sample(logits)->token, 0);
  ASSERT_TRUE(sampler.accept(0).ok());
  EXPECT_EQ(sampler.sample(logits)->token, 1);
  ASSERT_TRUE(sampler.accept(2).ok());
  EXPECT_EQ(sampler.sample(logits)->token, 1);  // window {0, 2}
  ASSERT_TRUE(sampler.accept(2).ok());
  EXPECT_EQ(sampler.sample(logits)->token, 0);  // window {2, 2}
  sampler.reset_history();
  EXPECT_EQ(sampler.sample(logits)->token, 0);
}

TEST(Sampler, AcceptRejectsIdsOutsideTheVocabulary) {
  Sampler sampler = make({}, 10);
  EXPECT_FALSE(sampler.accept(10).ok());
  EXPECT_FALSE(sampler.accept(-1).ok());
  EXPECT_TRUE(sampler.accept(9).ok());
}

TEST(Sampler, InvalidParamsNameTheField) {
  struct Case {
    const char* field;
    SamplingParams params;
  };
  std::vector<Case> cases(10);
  cases[0] = {"temperature", {}};
  cases[0].params.temperature = -0.1f;
  cases[1] = {"temperature", {}};
  cases[1].params.temperature = std::numeric_limits<float>::quiet_NaN();
  cases[2] = {"top_k", {}};
  cases[2].params.top_k = -3;
  cases[3] = {"top_p", {}};
  cases[3].params.top_p = 1.5f;
  cases[4] = {"min_p", {}};
  cases[4].params.min_p = -0.5f;
  cases[5] = {"repetition_penalty", {}};
  cases[5].params.repetition_penalty = 0.0f;
  cases[6] = {"presence_penalty", {}};
  cases[6].params.presence_penalty = 2.5f;
  cases[7] = {"logit_bias", {}};
  cases[7].params.logit_bias = {{100, 1.0f}};
  cases[8] = {"logit_bias", {}};
  cases[8].params.logit_bias = {{1, 101.0f}};
  cases[9] = {"top_logprobs", {}};
  cases[9].params.top_logprobs = 21;
  for (const Case& c : cases) {
    auto sampler = Sampler::create(c.params, 100);
    ASSERT_FALSE(sampler.ok()) << c.field;
    EXPECT_NE(sampler.status().message().find(c.field), std::string::npos)
        << sampler.status().message();
  }
  EXPECT_FALSE(Sampler::create({}, 0).ok());
}

TEST(Sampler, LogprobsDescribeTheRawModelNotTheSettings) {
  // Penalties, bias, filters and temperature change what is drawn, not the reported logprobs.
  std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  SamplingParams params;
  params.temperature = 0.0f;
  params.logit_bias = {{0, 50.0f}};
  params.top_logprobs = 3;
  auto token = make(params, 3).sample(logits);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->token, 0);
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(token->logprob, 1.0 - lse, 1e-6);
  ASSERT_EQ(token->top_logprobs().size(), 3u);
  EXPECT_EQ(token->top_logprobs()[0].token, 2);
  EXPECT_NEAR(token->top_logprobs()[0].logprob, 3.0 - lse, 1e-6);
  EXPECT_EQ(token->top_logprobs()[2].token, 0);
}

TEST(Sampler, TopLogprobsOfATinyVocabularyListEveryToken) {
  std::vector<float> logits = {kNegInf, 0.0f};
  SamplingParams params;
  params.top_logprobs = 5;
  auto token = make(params, 2).sample(logits);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->token, 1);
  ASSERT_EQ(token->top_logprobs().size(), 2u);
  EXPECT_EQ(token->top_logprobs()[0].token, 1);
  EXPECT_FLOAT_EQ(token->top_logprobs()[0].logprob, 0.0f);
  EXPECT_TRUE(std::isinf(token->top_logprobs()[1].logprob));
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

TEST(LogitMath, ExpMatchesStdExpWithinAFewUlps) {
  double worst = 0.0;
  for (double x = -86.0; x <= 0.0; x += 0.00123) {
    const auto xf = static_cast<float>(x);
    const double reference = std::exp(static_cast<double>(xf));
    worst = std::max(worst, std::fabs(exp_nonpositive(xf) - reference) / reference);
  }
  EXPECT_LT(worst, 5e-7);
  EXPECT_EQ(exp_nonpositive(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(exp_nonpositive(-200.0f), 0.0f);
  EXPECT_EQ(exp_nonpositive(0.0f), 1.0f);
}

TEST(LogitMath, ReductionsMatchPlainLoops) {
  std::vector<float> values;
  for (int n : {0, 1, 7, 8, 9, 100, 1001}) {
    values.resize(static_cast<size_t>(n));
    double sum = 0.0;
    float best = -std::numeric_limits<float>::infinity();
    for (int i = 0; i < n; ++i) {
      values[static_cast<size_t>(i)] = std::cos(0.1f * i) * i;
      sum += values[static_cast<size_t>(i)];
      best = std::max(best, values[static_cast<size_t>(i)]);
    }
    EXPECT_NEAR(sum_of(values), sum, 1e-9 * (1 + std::fabs(sum)));
    EXPECT_EQ(max_of(values), best);
    EXPECT_FALSE(has_nan_or_pos_inf(values));
    if (n > 0) {
      values[static_cast<size_t>(n - 1)] = std::numeric_limits<float>::infinity();
      EXPECT_TRUE(has_nan_or_pos_inf(values));
      values[static_cast<size_t>(n - 1)] = std::numeric_limits<float>::quiet_NaN();
      EXPECT_TRUE(has_nan_or_pos_inf(values));
      values[static_cast<size_t>(n - 1)] = -std::numeric_limits<float>::infinity();
      EXPECT_FALSE(has_nan_or_pos_inf(values));
    }
  }
}

}  // namespace
}  // namespace hearth
