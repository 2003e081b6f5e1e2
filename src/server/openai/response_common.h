// Pieces shared by chat and text completion responses: ids, usage, finish reasons, logprobs,
// JSON output that survives partial UTF-8, and the ChoiceBuilder interface both implement.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/request.h"

namespace hearth::server {

struct ResponseMeta {
  std::string id;  // "chatcmpl-..." / "cmpl-..."
  int64_t created = 0;
  std::string model;
  std::string system_fingerprint;
};

// `prefix` followed by 24 random alphanumerics ("chatcmpl-", "cmpl-", "call_").
std::string random_id(std::string_view prefix);
int64_t unix_time_now();

// JSON text; bytes that are not valid UTF-8 (a token piece cut mid-character) become U+FFFD.
std::string dump_json(const nlohmann::ordered_json& value);

// {"prompt_tokens", "completion_tokens", "total_tokens",
//  "prompt_tokens_details": {"cached_tokens"}}.
nlohmann::ordered_json usage_json(const Usage& usage);

// "stop", "length" or "tool_calls" (a stop that ended in tool calls).
std::string finish_reason_name(FinishReason reason, bool made_tool_calls);

// The text of a token id, for the alternatives in logprobs (which carry only ids).
using TokenTextFn = std::function<std::string(int32_t)>;

// One entry of chat logprobs.content: {"token", "logprob", "bytes", "top_logprobs": [...]}.
nlohmann::ordered_json chat_logprob_json(const TokenLogprob& logprob,
                                         const TokenTextFn& token_text);

// Turns the engine's events for one request into OpenAI JSON: chunks while streaming, or the
// whole response at the end.
class ChoiceBuilder {
 public:
  virtual ~ChoiceBuilder() = default;
  // Chunks sent before any generated text (chat: the role chunk).
  virtual std::vector<nlohmann::ordered_json> start() = 0;
  // Consumes one kText event; returns its chunks (none when not streaming).
  virtual std::vector<nlohmann::ordered_json> on_text(const GenerationEvent& event) = 0;
  // Consumes kDone; returns the final chunks (finish_reason, then usage when asked for).
  virtual std::vector<nlohmann::ordered_json> finish(const GenerationEvent& done) = 0;
  // After finish(): the non-streaming response body.
  virtual nlohmann::ordered_json response(const GenerationEvent& done) const = 0;
};

}  // namespace hearth::server
