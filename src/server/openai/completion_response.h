// Text completion responses and stream chunks (object "text_completion"), with the legacy
// logprobs shape {"tokens", "token_logprobs", "top_logprobs", "text_offset"}.
#pragma once

#include <string>

#include "server/openai/response_common.h"

namespace hearth::server {

struct CompletionChoiceOptions {
  bool streaming = false;
  bool include_usage = false;
  bool logprobs = false;
};

class CompletionChoiceBuilder final : public ChoiceBuilder {
 public:
  CompletionChoiceBuilder(ResponseMeta meta, CompletionChoiceOptions options,
                          TokenTextFn token_text);

  std::vector<nlohmann::ordered_json> start() override { return {}; }
  std::vector<nlohmann::ordered_json> on_text(const GenerationEvent& event) override;
  std::vector<nlohmann::ordered_json> finish(const GenerationEvent& done) override;
  nlohmann::ordered_json response(const GenerationEvent& done) const override;

 private:
  struct LegacyLogprobs {
    nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
    nlohmann::ordered_json token_logprobs = nlohmann::ordered_json::array();
    nlohmann::ordered_json top_logprobs = nlohmann::ordered_json::array();
    nlohmann::ordered_json text_offset = nlohmann::ordered_json::array();
    nlohmann::ordered_json to_json() const;
  };
  void append_logprobs(const GenerationEvent& event, LegacyLogprobs& into);
  nlohmann::ordered_json chunk(std::string text, nlohmann::ordered_json logprobs,
                               const nlohmann::ordered_json& finish_reason) const;

  ResponseMeta meta_;
  CompletionChoiceOptions options_;
  TokenTextFn token_text_;
  std::string text_;
  size_t logprob_offset_ = 0;  // byte offset of the next token's text in text_
  LegacyLogprobs all_logprobs_;
};

}  // namespace hearth::server
