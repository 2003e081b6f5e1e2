// Chooses a tool-call parser by name (--tool-call-parser) or from the markers the chat template
// uses to render tool calls.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "chat/tool_call/tool_call_parser.h"
#include "hearth/status.h"

namespace hearth {

// Canonical names: hermes, qwen3_coder, llama3_json, mistral.
std::span<const std::string_view> tool_call_parser_names();

// Accepts the canonical names and common aliases (qwen, qwen2.5, qwen3, qwen3_xml, llama3,
// llama3.1, llama, mistral). InvalidArgument listing the known names otherwise.
Expected<std::unique_ptr<ToolCallParser>> make_tool_call_parser(std::string_view name,
                                                                ToolCallParserOptions options);

// The parser whose markers the template renders, or nullopt when it shows no tool-call format:
// "<function=" with "<parameter=" -> qwen3_coder; "<tool_call>" -> hermes; "[TOOL_CALLS]" ->
// mistral; "<|python_tag|>", or Llama 3 headers with an "ipython" role or tool calls ->
// llama3_json.
std::optional<std::string> detect_tool_call_parser(std::string_view chat_template);

}  // namespace hearth
