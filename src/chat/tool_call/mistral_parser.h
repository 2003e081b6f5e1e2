// Mistral tool calls, both generations:
//   [TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, {...}]
//       (tokenizer v3: Mistral 7B v0.3, Mixtral; a JSON array, "id" keys allowed)
//   [TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]other[ARGS]{...}
//       (tokenizer v11+: Mistral Small 3.2, Devstral, Magistral; [CALL_ID]id before [ARGS] is
//       accepted and ignored, and so is a missing [ARGS] before the '{')
// Text before [TOOL_CALLS] is content. The special tokens must be rendered in the text fed.
#pragma once

#include "chat/tool_call/tool_call_parser.h"

namespace hearth {

class MistralParser final : public ToolCallParser {
 public:
  explicit MistralParser(ToolCallParserOptions options) : ToolCallParser(std::move(options)) {}
  std::string_view name() const override { return "mistral"; }

 private:
  enum class State { kText, kAfterMarker, kArrayItem, kArraySeparator, kName, kCallId, kArgs };
  bool step(bool at_end) override;
  bool step_name(bool at_end);
  bool step_args(bool at_end);

  State state_ = State::kText;
  JsonCallReader reader_;
  JsonScanner scanner_;
  std::string name_;
  bool object_started_ = false;
};

}  // namespace hearth
