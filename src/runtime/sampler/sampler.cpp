#include "runtime/sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "runtime/sampler/logit_math.h"

namespace hearth {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Strict weak order "a is more likely than b", ties to the lower token id.
template <typename C>
bool more_likely(const C& a, const C& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.token < b.token);
}

Status nothing_to_sample() {
  return invalid_argument(
      "sampler: every token's logit is -inf after penalties and logit_bias; nothing to sample");
}

uint64_t fresh_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace

Expected<Sampler> Sampler::create(const SamplingParams& params, int32_t vocab_size) {
  HEARTH_RETURN_IF_ERROR(params.validate(vocab_size));
  return Sampler(params, vocab_size, params.seed ? *params.seed : fresh_seed());
}

Sampler::Sampler(const SamplingParams& params, int32_t vocab_size, uint64_t seed)
    : params_(params),
      vocab_size_(vocab_size),
      rng_(seed),
      history_(params.penalty_window),
      work_(static_cast<size_t>(vocab_size)),
      filter_(vocab_size) {
  dist_.reserve(static_cast<size_t>(vocab_size));
}

Status Sampler::accept(int32_t token) {
  if (token < 0 || token >= vocab_size_) {
    return invalid_argument(
        fmt::format("sampler: token id {} is outside the vocabulary [0, {})", token, vocab_size_));
  }
  history_.accept(token);
  return Status();
}

Status Sampler::accept(std::span<const int32_t> tokens) {
  for (int32_t token : tokens) HEARTH_RETURN_IF_ERROR(accept(token));
  return Status();
}

Status Sampler::check_logits(std::span<const float> logits) const {
  if (logits.size() != static_cast<size_t>(vocab_size_)) {
    return invalid_argument(fmt::format("sampler: expected {} logits (the vocabulary), got {}",
                                        vocab_size_, logits.size()));
  }
  if (!has_nan_or_pos_inf(logits)) return Status();
  for (size_t i = 0; i < logits.size(); ++i) {
    if (!(logits[i] < kInf)) {
      return invalid_argument(
          fmt::format("sampler: logit {} of token {} is not a finite number "
                      "or -inf (the model produced NaN/inf)",
                      logits[i], i));
    }
  }
  return Status();
}

std::span<const float> Sampler::processed(std::span<const float> logits) {
  if (!params_.has_penalties() && params_.logit_bias.empty()) return logits;
  std::copy(logits.begin(), logits.end(), work_.begin());
  if (params_.has_penalties()) {
    const float rep = params_.repetition_penalty;
    for (const TokenHistory::Count& c : history_.counts()) {
      float& logit = work_[static_cast<size_t>(c.token)];
      if (rep != 1.0f) logit = logit > 0.0f ? logit / rep : logit * rep;
      logit -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(c.count);
    }
  }
  for (const auto& [token, bias] : params_.logit_bias) work_[static_cast<size_t>(token)] += bias;
  return work_;
}

Expected<int32_t> Sampler::argmax(std::span<const float> logits) {
  // Two passes, each vectorisable: the maximum, then its first (lowest) index.
  const float best = max_of(logits);
  if (best == -kInf) return nothing_to_sample();
  return static_cast<int32_t>(std::find(logits.begin(), logits.end(), best) - logits.begin());
}

Status Sampler::run_filter(std::span<const float> logits) {
  FilterSettings settings;
  settings.top_k = params_.top_k;
  settings.top_p = params_.top_p;
  settings.min_p = params_.min_p;
  settings.temperature = params_.temperature;
  if (!filter_.run(logits, settings)) return nothing_to_sample();
  return Status();
}

Expected<SampledToken> Sampler::sample(std::span<const float> logits) {
  HEARTH_RETURN_IF_ERROR(check_logits(logits));
  SampledToken out;
  if (params_.greedy()) {
    HEARTH_ASSIGN_OR_RETURN(out.token, argmax(processed(logits)));
  } else {
    HEARTH_RETURN_IF_ERROR(run_filter(processed(logits)));
    out.token = filter_.token(filter_.pick(rng_.next_unit()));
  }
  if (params_.logprobs || params_.top_logprobs > 0) fill_logprobs(logits, out);
  return out;
}

Expected<std::span<const TokenProbability>> Sampler::distribution(std::span<const float> logits) {
  HEARTH_RETURN_IF_ERROR(check_logits(logits));
  dist_.clear();
  if (params_.greedy()) {
    HEARTH_ASSIGN_OR_RETURN(const int32_t token, argmax(processed(logits)));
    dist_.push_back({token, 1.0});
    return std::span<const TokenProbability>(dist_);
  }
  HEARTH_RETURN_IF_ERROR(run_filter(processed(logits)));
  const double total = filter_.total_weight();
  for (size_t i = 0; i < filter_.size(); ++i) {
    if (filter_.weight(i) > 0.0f) dist_.push_back({filter_.token(i), filter_.weight(i) / total});
  }
  return std::span<const TokenProbability>(dist_);
}

void Sampler::fill_logprobs(std::span<const float> logits, SampledToken& out) const {
  // log-softmax of the raw logits: logprob(t) = logit(t) - logsumexp(logits).
  const float max_logit = max_of(logits);
  std::array<double, 8> lanes{};  // independent lanes: vectorises without reassociation
  size_t i = 0;
  for (; i + 8 <= logits.size(); i += 8) {
    for (size_t j = 0; j < 8; ++j) lanes[j] += exp_nonpositive(logits[i + j] - max_logit);
  }
  double sum = 0.0;
  for (; i < logits.size(); ++i) sum += exp_nonpositive(logits[i] - max_logit);
  for (double lane : lanes) sum += lane;
  const double log_normaliser = static_cast<double>(max_logit) + std::log(sum);
  const auto logprob_of = [&](float logit) {
    return static_cast<float>(static_cast<double>(logit) - log_normaliser);
  };
  out.logprob = logprob_of(logits[static_cast<size_t>(out.token)]);

  const auto k = static_cast<size_t>(params_.top_logprobs);
  if (k == 0) return;
  // Keep the k most likely in a min-heap (least likely on top): O(vocab log k), no allocation.
  struct Entry {
    float logit;
    int32_t token;
  };
  std::array<Entry, kMaxTopLogprobs> heap{};
  size_t size = 0;
  const auto heap_less = [](const Entry& a, const Entry& b) { return more_likely(a, b); };
  for (int32_t t = 0; t < vocab_size_; ++t) {
    const Entry e{logits[static_cast<size_t>(t)], t};
    if (size < k) {
      heap[size++] = e;
      std::push_heap(heap.begin(), heap.begin() + static_cast<ptrdiff_t>(size), heap_less);
    } else if (more_likely(e, heap[0])) {
      std::pop_heap(heap.begin(), heap.begin() + static_cast<ptrdiff_t>(size), heap_less);
      heap[size - 1] = e;
      std::push_heap(heap.begin(), heap.begin() + static_cast<ptrdiff_t>(size), heap_less);
    }
  }
  std::sort(heap.begin(), heap.begin() + static_cast<ptrdiff_t>(size), heap_less);
  for (size_t r = 0; r < size; ++r) out.top[r] = {heap[r].token, logprob_of(heap[r].logit)};
  out.top_count = static_cast<int32_t>(size);
}

}  // namespace hearth
