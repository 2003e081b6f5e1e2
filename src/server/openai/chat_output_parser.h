// The OutputParser behind chat completions: the reasoning parser (src/chat/reasoning) splits
// off <think> blocks, and its content goes through the tool-call parser of the dialect chosen
// by --tool-call-parser or detected from the chat template (src/chat/tool_call).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "chat/reasoning/reasoning_parser.h"
#include "chat/tool_call/tool_call_parser.h"
#include "hearth/status.h"
#include "server/openai/output_parser.h"

namespace hearth::server {

class ChatOutputParser final : public OutputParser {
 public:
  // Tool calls are parsed only when config.tools lists some. The dialect is
  // config.tool_call_parser, else the one the template's markers show, else hermes.
  static Expected<std::unique_ptr<OutputParser>> create(const OutputParserConfig& config);

  ChatOutputParser(ReasoningParser reasoning, std::unique_ptr<ToolCallParser> tools);

  std::vector<OutputDelta> feed(std::string_view text) override;
  std::vector<OutputDelta> finish() override;

 private:
  void route(ReasoningDelta& delta, std::vector<OutputDelta>& out);
  void append_message_deltas(std::vector<MessageDelta>& deltas, std::vector<OutputDelta>& out);

  ReasoningParser reasoning_;
  std::unique_ptr<ToolCallParser> tools_;  // null: no tool parsing
  std::vector<MessageDelta> scratch_;
};

// The dialect tool calls are parsed with: `requested` when set, else detected from the
// template source, else "hermes".
std::string tool_call_dialect(const std::string& requested, const std::string& template_source);

}  // namespace hearth::server
