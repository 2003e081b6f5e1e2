// Hermes / Qwen2.5 / Qwen3 tool calls: one JSON object per block,
//   <tool_call>
//   {"name": "get_weather", "arguments": {"city": "Paris"}}
//   </tool_call>
// several blocks for parallel calls. Keys may come in either order (Hermes 2 Pro writes
// "arguments" first); "parameters" is accepted for "arguments". A missing </tool_call> after a
// complete object is tolerated (models often stop right after it).
#pragma once

#include "chat/tool_call/tool_call_parser.h"

namespace hearth {

class HermesParser final : public ToolCallParser {
 public:
  explicit HermesParser(ToolCallParserOptions options) : ToolCallParser(std::move(options)) {}
  std::string_view name() const override { return "hermes"; }

 private:
  enum class State { kText, kObject, kClose };
  bool step(bool at_end) override;

  State state_ = State::kText;
  JsonCallReader reader_;
};

}  // namespace hearth
