// The request fields that chat and text completions share: sampling, length, stop strings,
// streaming. Read from the top-level request object into the engine's request types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/sampling.h"
#include "server/openai/field_reader.h"

namespace hearth::server {

// What the server knows about the model when validating a request.
struct RequestLimits {
  int64_t context_size = 0;  // tokens; bounds max_tokens
  int64_t vocab_size = 0;    // bounds token ids (logit_bias, prompts, detokenize)
  std::string model_id;      // the served model; other names get 404 model_not_found
};

inline constexpr size_t kMaxStopStrings = 16;
inline constexpr size_t kMaxStopStringBytes = 1024;
inline constexpr size_t kMaxLogitBiasEntries = 1024;
inline constexpr int kMaxChatTopLogprobs = 20;
inline constexpr int kMaxCompletionLogprobs = 5;

struct GenerationFields {
  std::string model;  // empty when omitted
  SamplingParams sampling;
  std::optional<int64_t> max_tokens;
  bool max_tokens_explicit = false;  // false: absent, or an API default filled in
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;
  bool ignore_eos = false;
  bool skip_special_tokens = true;
};

// Reads model, temperature, top_p, top_k, min_p, presence_penalty, frequency_penalty,
// repetition_penalty, logit_bias, seed, stop, n, stream, stream_options, user, ignore_eos,
// skip_special_tokens and the max-token field(s) named in `max_token_keys` (chat accepts
// max_tokens and max_completion_tokens). Logprobs differ between the APIs and are read by the
// callers. Errors go to `reader`.
GenerationFields read_generation_fields(FieldReader& reader, const RequestLimits& limits,
                                        std::initializer_list<std::string_view> max_token_keys);

// The token id of a logit_bias key ("1234"), or nullopt if it is not a decimal integer.
std::optional<int64_t> parse_token_id(const std::string& key);

}  // namespace hearth::server
