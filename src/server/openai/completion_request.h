// POST /v1/completions (the legacy text completion API): a raw prompt, no chat template.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "server/openai/api_error.h"
#include "server/openai/generation_fields.h"

namespace hearth::server {

inline constexpr int64_t kDefaultCompletionMaxTokens = 16;  // the OpenAI default

struct CompletionRequest {
  GenerationFields generation;
  // Exactly one of: prompt text (tokenized with the model's special tokens added), or token ids.
  std::string prompt_text;
  std::vector<int32_t> prompt_tokens;
  bool prompt_is_tokens = false;
};

// prompt: a string, [string], [int...] or [[int...]] (one prompt per request);
// logprobs: an integer 0..5 (top alternatives per token) as in the legacy API.
ApiResult<CompletionRequest> parse_completion_request(const nlohmann::ordered_json& body,
                                                      const RequestLimits& limits);

// Token ids of an array in [0, vocab_size); `param` names the array in errors.
ApiResult<std::vector<int32_t>> read_token_ids(const nlohmann::ordered_json& value,
                                               const std::string& param, int64_t vocab_size);

}  // namespace hearth::server
