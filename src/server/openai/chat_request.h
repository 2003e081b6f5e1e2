// POST /v1/chat/completions (and /apply-template): the request body, validated field by field,
// mapped onto the engine's types. Anything hearth does not implement is a 400 naming the field.
#pragma once

#include <nlohmann/json.hpp>

#include "server/openai/api_error.h"
#include "server/openai/chat_messages.h"
#include "server/openai/generation_fields.h"

namespace hearth::server {

struct ChatRequest {
  GenerationFields generation;      // includes logprobs / top_logprobs in generation.sampling
  nlohmann::ordered_json messages;  // normalized (chat_messages.h)
  // Tools as given to the chat template: null when none were sent or tool_choice is "none";
  // only the named function when tool_choice names one.
  nlohmann::ordered_json template_tools;
  ToolChoiceSpec tool_choice;
  bool parallel_tool_calls = true;
  nlohmann::ordered_json template_kwargs =
      nlohmann::ordered_json::object();  // chat_template_kwargs
};

ApiResult<ChatRequest> parse_chat_request(const nlohmann::ordered_json& body,
                                          const RequestLimits& limits);

// POST /apply-template: messages, tools, tool_choice, chat_template_kwargs and
// add_generation_prompt (default true); model is accepted and checked like for chat.
struct TemplateRequest {
  std::string model;
  nlohmann::ordered_json messages;
  nlohmann::ordered_json template_tools;
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();
  bool add_generation_prompt = true;
};

ApiResult<TemplateRequest> parse_template_request(const nlohmann::ordered_json& body);

}  // namespace hearth::server
