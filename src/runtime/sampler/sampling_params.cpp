#include "runtime/sampler/sampling_params.h"

#include <cmath>
#include <string>

#include <fmt/format.h>

namespace hearth {
namespace {

Status check_range(const char* field, float value, float lo, float hi) {
  if (!std::isfinite(value) || value < lo || value > hi) {
    return invalid_argument(
        fmt::format("sampling: {} must be in [{}, {}], got {}", field, lo, hi, value));
  }
  return Status();
}

}  // namespace

Status SamplingParams::validate(int32_t vocab_size) const {
  if (vocab_size <= 0) {
    return invalid_argument(
        fmt::format("sampling: vocabulary size must be positive, got {}", vocab_size));
  }
  if (!std::isfinite(temperature) || temperature < 0.0f) {
    return invalid_argument(
        fmt::format("sampling: temperature must be a finite value >= 0, got {}", temperature));
  }
  if (top_k < 0) {
    return invalid_argument(fmt::format("sampling: top_k must be >= 0 (0 = off), got {}", top_k));
  }
  HEARTH_RETURN_IF_ERROR(check_range("top_p", top_p, 0.0f, 1.0f));
  HEARTH_RETURN_IF_ERROR(check_range("min_p", min_p, 0.0f, 1.0f));
  if (!std::isfinite(repetition_penalty) || repetition_penalty <= 0.0f) {
    return invalid_argument(fmt::format(
        "sampling: repetition_penalty must be a finite value > 0, got {}", repetition_penalty));
  }
  HEARTH_RETURN_IF_ERROR(check_range("presence_penalty", presence_penalty, -2.0f, 2.0f));
  HEARTH_RETURN_IF_ERROR(check_range("frequency_penalty", frequency_penalty, -2.0f, 2.0f));
  if (penalty_window < -1) {
    return invalid_argument(fmt::format(
        "sampling: penalty_window must be >= 0, or -1 for every token, got {}", penalty_window));
  }
  for (const auto& [token, bias] : logit_bias) {
    if (token < 0 || token >= vocab_size) {
      return invalid_argument(fmt::format(
          "sampling: logit_bias token {} is outside the vocabulary [0, {})", token, vocab_size));
    }
    if (!std::isfinite(bias) || bias < -100.0f || bias > 100.0f) {
      return invalid_argument(fmt::format(
          "sampling: logit_bias for token {} must be in [-100, 100], got {}", token, bias));
    }
  }
  if (top_logprobs < 0 || top_logprobs > kMaxTopLogprobs) {
    return invalid_argument(fmt::format("sampling: top_logprobs must be in [0, {}], got {}",
                                        kMaxTopLogprobs, top_logprobs));
  }
  return Status();
}

}  // namespace hearth
