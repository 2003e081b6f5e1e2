// The conversation part of a chat request: messages, tools and tool_choice, validated and
// normalized into what chat templates expect (transformers' apply_chat_template conventions).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "server/openai/api_error.h"

namespace hearth::server {

inline constexpr size_t kMaxMessages = 100000;
inline constexpr size_t kMaxTools = 128;

// Normalized messages: each {"role", "content": string|null, ["name"], ["tool_calls"],
// ["tool_call_id"], ["reasoning_content"]}. Roles are system, user, assistant and tool;
// "developer" becomes "system". Text content parts are joined with "\n". Tool-call arguments
// (a JSON string in the API) become JSON objects, as templates index into them.
ApiResult<nlohmann::ordered_json> normalize_messages(const nlohmann::ordered_json& messages);

// Normalized tools: [{"type": "function", "function": {"name", ["description"],
// "parameters"}}]; parameters default to an empty object schema. Names must be unique.
ApiResult<nlohmann::ordered_json> normalize_tools(const nlohmann::ordered_json& tools);

enum class ToolChoice { kAuto, kNone, kRequired, kNamed };

struct ToolChoiceSpec {
  ToolChoice mode = ToolChoice::kAuto;
  std::string function_name;  // kNamed
};

// "none" | "auto" | "required" | {"type": "function", "function": {"name"}}; `tools` is the
// normalized tool list (null when none were given).
ApiResult<ToolChoiceSpec> parse_tool_choice(const nlohmann::ordered_json& choice,
                                            const nlohmann::ordered_json& tools);

}  // namespace hearth::server
