// How the next token is chosen. Ranges follow the OpenAI API where it defines them
// (presence/frequency penalty in [-2, 2], logit bias in [-100, 100], at most 20 top logprobs)
// and llama.cpp / mlx-lm elsewhere. validate() (src/runtime/sampler/sampling_params.cpp) names
// the first field that is out of range.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "hearth/status.h"

namespace hearth {

inline constexpr int32_t kMaxTopLogprobs = 20;

struct SamplingParams {
  // 0 = greedy (argmax). Applied last, to the tokens the filters kept (llama.cpp/mlx-lm order).
  float temperature = 1.0f;
  int32_t top_k = 0;   // keep the k most likely tokens; 0 = off
  float top_p = 1.0f;  // nucleus mass in [0, 1]; 1 = off, 0 = only the most likely token
  float min_p = 0.0f;  // drop tokens with p < min_p * p_max; 0 = off
  float repetition_penalty = 1.0f;  // CTRL-style: divide positive / multiply negative logits
  float presence_penalty = 0.0f;    // OpenAI: subtract once per distinct token in the window
  float frequency_penalty = 0.0f;   // OpenAI: subtract once per occurrence in the window
  // How many of the most recent accepted tokens the penalties look at; -1 = all of them.
  // 64 is llama.cpp's default (penalty_last_n).
  int32_t penalty_window = 64;
  // (token id, bias) pairs added to the logits after the penalties; -100 effectively bans.
  std::vector<std::pair<int32_t, float>> logit_bias;
  // Same seed, same logits -> same tokens. nullopt draws a seed from std::random_device.
  std::optional<uint64_t> seed;
  bool logprobs = false;     // report the chosen token's logprob
  int32_t top_logprobs = 0;  // and this many most likely alternatives (0..20)

  bool greedy() const { return temperature == 0.0f || top_k == 1; }
  bool has_penalties() const {
    return repetition_penalty != 1.0f || presence_penalty != 0.0f || frequency_penalty != 0.0f;
  }
  // InvalidArgument naming the field when a value is out of range, non-finite, or a logit_bias
  // token is outside [0, vocab_size).
  Status validate(int32_t vocab_size) const;
};

}  // namespace hearth
