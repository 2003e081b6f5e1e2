// Llama 3.1 / 3.2 / 3.3 JSON tool calls: the whole response is a call object
//   {"name": "get_weather", "parameters": {"city": "Paris"}}
// (optionally after <|python_tag|>, which may also follow some text), several calls separated by
// ';' or whitespace. A response that merely starts with '{' but is not a call object (other
// keys, a function not offered) is content. Only the keys name, parameters/arguments and type
// are accepted, so ordinary JSON answers are not mistaken for calls. Llama 3.1's built-in tools
// (<|python_tag|>brave_search.call(...)) are not JSON and come back as content.
#pragma once

#include "chat/tool_call/tool_call_parser.h"

namespace hearth {

class Llama3JsonParser final : public ToolCallParser {
 public:
  explicit Llama3JsonParser(ToolCallParserOptions options);
  std::string_view name() const override { return "llama3_json"; }

 private:
  enum class State { kStart, kText, kObject, kAfterCall };
  bool step(bool at_end) override;

  State state_ = State::kStart;
  JsonCallReader reader_;
};

}  // namespace hearth
