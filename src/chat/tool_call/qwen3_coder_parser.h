// Qwen3-Coder XML tool calls:
//   <tool_call>
//   <function=get_weather>
//   <parameter=city>
//   Paris
//   </parameter>
//   <parameter=days>
//   3
//   </parameter>
//   </function>
//   </tool_call>
// Values are text; the tool's JSON schema decides how each becomes JSON (parameter_conversion.h).
// The newline the template puts after <parameter=..> and before </parameter> is not part of the
// value. String values stream as they are generated; other types are emitted when complete.
// Every <parameter=..> needs its </parameter>.
#pragma once

#include <vector>

#include "chat/tool_call/tool_call_parser.h"

namespace hearth {

class Qwen3CoderParser final : public ToolCallParser {
 public:
  explicit Qwen3CoderParser(ToolCallParserOptions options) : ToolCallParser(std::move(options)) {}
  std::string_view name() const override { return "qwen3_coder"; }

 private:
  enum class State {
    kText,
    kFunctionOpen,
    kFunctionName,
    kParamOrEnd,
    kParamName,
    kParamValue,
    kClose
  };
  bool step(bool at_end) override;
  bool step_name(bool at_end);
  bool step_value(bool at_end);
  bool fail(std::string_view why);

  State state_ = State::kText;
  std::string name_;
  const ToolSpec* tool_ = nullptr;
  int params_ = 0;
  std::vector<std::string> types_;
  bool string_value_ = false;
  bool value_started_ = false;
  std::string value_;  // a non-string value, until complete
};

}  // namespace hearth
