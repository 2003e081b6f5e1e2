// Turns one position's logits into a token.
//
// Pipeline (the llama.cpp / mlx-lm order, filters on the untempered distribution):
//   penalties (repetition, then presence/frequency, over the recent-token window)
//   -> logit bias -> top-k -> top-p -> min-p -> temperature -> draw.
// Filtering before temperature means the nucleus (top-p) and the min-p cut depend only on what
// the model predicted, so raising the temperature flattens the kept tokens without admitting
// new ones; that is what users of llama.cpp and mlx_lm (whose flags `hearth generate` mirrors)
// expect. Temperature 0 (or top_k = 1) is greedy: the argmax after penalties and bias.
// Ties are broken by the lower token id everywhere, so results are deterministic.
//
// Logprobs follow OpenAI/vLLM (vLLM's default "raw_logprobs"): the log-softmax of the raw model
// logits, before penalties, bias, filters and temperature, so they describe the model rather
// than the sampling settings.
//
// Per token the work is a few vectorised O(vocab) passes: validation, penalties/bias on a copy,
// and CandidateFilter (bucketed ranking, so no full sort). Buffers are sized once; sampling
// allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "hearth/status.h"
#include "runtime/sampler/candidate_filter.h"
#include "runtime/sampler/sampler_rng.h"
#include "runtime/sampler/sampling_params.h"
#include "runtime/sampler/token_history.h"

namespace hearth {

struct RankedLogprob {
  int32_t token = -1;
  float logprob = 0.0f;
};

struct SampledToken {
  int32_t token = -1;
  // Raw-model log-probability of `token`; filled when params.logprobs or top_logprobs > 0.
  float logprob = 0.0f;
  // The params.top_logprobs most likely tokens of the raw distribution, most likely first.
  std::array<RankedLogprob, kMaxTopLogprobs> top{};
  int32_t top_count = 0;

  std::span<const RankedLogprob> top_logprobs() const {
    return {top.data(), static_cast<size_t>(top_count)};
  }
};

// One token of the distribution sample() draws from.
struct TokenProbability {
  int32_t token = -1;
  double probability = 0.0;
};

class Sampler {
 public:
  // InvalidArgument (naming the field) when params do not validate against vocab_size.
  static Expected<Sampler> create(const SamplingParams& params, int32_t vocab_size);

  // Draws the next token. InvalidArgument when logits has the wrong size, holds a NaN or +inf
  // (naming the index), or every token is -inf after penalties and bias.
  Expected<SampledToken> sample(std::span<const float> logits);

  // The distribution sample() would draw from: the tokens that survive every filter with their
  // probabilities after temperature, in no particular order. For tests and diagnostics; the
  // span is valid until the next call.
  Expected<std::span<const TokenProbability>> distribution(std::span<const float> logits);

  // Records a token (prompt or generated) in the penalty window. InvalidArgument when the id
  // is outside the vocabulary.
  Status accept(int32_t token);
  Status accept(std::span<const int32_t> tokens);
  void reset_history() { history_.clear(); }

  const SamplingParams& params() const { return params_; }
  int32_t vocab_size() const { return vocab_size_; }

 private:
  Sampler(const SamplingParams& params, int32_t vocab_size, uint64_t seed);

  Status check_logits(std::span<const float> logits) const;
  // The logits after penalties and bias: `logits` itself when there are none, else work_.
  std::span<const float> processed(std::span<const float> logits);
  Expected<int32_t> argmax(std::span<const float> logits);
  Status run_filter(std::span<const float> logits);
  void fill_logprobs(std::span<const float> logits, SampledToken& out) const;

  SamplingParams params_;
  int32_t vocab_size_;
  SamplerRng rng_;
  TokenHistory history_;
  std::vector<float> work_;  // [vocab] logits after penalties and bias
  CandidateFilter filter_;
  std::vector<TokenProbability> dist_;  // [<= vocab] distribution() output
};

}  // namespace hearth
