// How the next token is chosen. Field meanings follow the OpenAI API and llama.cpp/mlx-lm.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace hearth {

struct SamplingParams {
  float temperature = 1.0f;  // 0 = greedy
  float top_p = 1.0f;        // 1 = off
  int32_t top_k = 0;         // 0 = off
  float min_p = 0.0f;        // 0 = off
  float repetition_penalty = 1.0f;  // 1 = off (llama.cpp/HF style, divides positive logits)
  float presence_penalty = 0.0f;    // OpenAI style, subtracted once per seen token
  float frequency_penalty = 0.0f;   // OpenAI style, subtracted per occurrence
  int32_t penalty_window = 64;      // how many recent tokens the penalties consider; -1 = all
  std::vector<std::pair<int32_t, float>> logit_bias;  // token id -> added to its logit
  std::optional<uint64_t> seed;     // nullopt: nondeterministic
  // Logprobs of the chosen token (and `top_logprobs` alternatives) are returned when set.
  bool logprobs = false;
  int32_t top_logprobs = 0;
};

}  // namespace hearth
