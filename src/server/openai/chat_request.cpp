#include "server/openai/chat_request.h"

#include <fmt/core.h>

#include <string_view>

namespace hearth::server {
namespace {

// OpenAI chat fields hearth does not implement, with what to do instead.
struct UnsupportedField {
  std::string_view name;
  std::string_view hint;
};
constexpr UnsupportedField kUnsupportedChatFields[] = {
    {"functions", "use 'tools'"},
    {"function_call", "use 'tool_choice'"},
    {"audio", "the model produces text only"},
    {"prediction", "predicted outputs are not implemented"},
    {"reasoning_effort", "use chat_template_kwargs, e.g. {\"enable_thinking\": false}"},
    {"web_search_options", "hearth has no web search"},
    {"metadata", "stored completions are not implemented"},
    {"verbosity", "not implemented"},
    {"prompt_cache_key", "prompt caching is automatic"},
    {"prompt_cache_retention", "prompt caching is automatic"},
    {"prompt_cache_options", "prompt caching is automatic"},
    {"moderation", "hearth does not moderate content"},
};

// Fields that take one value hearth supports (the API default) and reject the others.
void read_default_only_fields(FieldReader& reader) {
  if (const nlohmann::ordered_json* format = reader.value("response_format");
      format && reader.ok()) {
    const bool is_text = format->is_object() && format->size() == 1 && format->contains("type") &&
                         (*format)["type"] == "text";
    if (!is_text) {
      reader.fail("response_format",
                  "'response_format' other than {\"type\": \"text\"} is not supported yet "
                  "(structured output is not implemented)",
                  "unsupported_parameter");
    }
  }
  if (const nlohmann::ordered_json* modalities = reader.value("modalities");
      modalities && reader.ok()) {
    if (*modalities != nlohmann::ordered_json::array({"text"})) {
      reader.fail("modalities", "'modalities' must be [\"text\"]: the model produces text only",
                  "unsupported_parameter");
    }
  }
  if (auto store = reader.boolean("store"); store && *store) {
    reader.fail("store", "'store': true is not supported: hearth keeps no completions",
                "unsupported_parameter");
  }
  if (auto tier = reader.string("service_tier", 64);
      tier && *tier != "auto" && *tier != "default") {
    reader.fail("service_tier", "'service_tier' must be \"auto\" or \"default\"",
                "unsupported_parameter");
  }
  (void)reader.string("safety_identifier", 256);  // like 'user': accepted, not used
}

void reject_unsupported(FieldReader& reader) {
  for (const auto& field : kUnsupportedChatFields) {
    if (reader.has(field.name)) {
      reader.fail(field.name, fmt::format("'{}' is not supported: {}", field.name, field.hint),
                  "unsupported_parameter");
      return;
    }
  }
}

// Messages, tools, tool_choice, chat_template_kwargs: shared by chat and apply-template.
struct Conversation {
  nlohmann::ordered_json messages;
  nlohmann::ordered_json tools;  // normalized, null when absent
  ToolChoiceSpec tool_choice;
  nlohmann::ordered_json template_tools;
  nlohmann::ordered_json template_kwargs = nlohmann::ordered_json::object();
};

void read_conversation(FieldReader& reader, Conversation& out) {
  const nlohmann::ordered_json* messages = reader.value("messages");
  if (!reader.ok()) return;
  if (!messages) {
    reader.fail("messages", "'messages' is required", "missing_required_parameter");
    return;
  }
  auto normalized = normalize_messages(*messages);
  if (!normalized.ok()) return reader.fail(normalized.error());
  out.messages = std::move(*normalized);

  if (const nlohmann::ordered_json* tools = reader.value("tools"); tools && reader.ok()) {
    auto normalized_tools = normalize_tools(*tools);
    if (!normalized_tools.ok()) return reader.fail(normalized_tools.error());
    if (!normalized_tools->empty()) out.tools = std::move(*normalized_tools);
  }
  if (const nlohmann::ordered_json* choice = reader.value("tool_choice"); choice && reader.ok()) {
    auto spec = parse_tool_choice(*choice, out.tools);
    if (!spec.ok()) return reader.fail(spec.error());
    out.tool_choice = std::move(*spec);
  }
  if (const nlohmann::ordered_json* kwargs = reader.object("chat_template_kwargs")) {
    out.template_kwargs = *kwargs;
  }
  if (out.tool_choice.mode == ToolChoice::kNone) {
    out.template_tools = nullptr;
  } else if (out.tool_choice.mode == ToolChoice::kNamed) {
    out.template_tools = nlohmann::ordered_json::array();
    for (const auto& tool : out.tools) {
      if (tool["function"]["name"] == out.tool_choice.function_name) {
        out.template_tools.push_back(tool);
      }
    }
  } else {
    out.template_tools = out.tools;
  }
}

}  // namespace

ApiResult<ChatRequest> parse_chat_request(const nlohmann::ordered_json& body,
                                          const RequestLimits& limits) {
  FieldReader reader(body, "");
  reject_unsupported(reader);
  reader.reject_unknown({
      "model",
      "messages",
      "max_tokens",
      "max_completion_tokens",
      "temperature",
      "top_p",
      "top_k",
      "min_p",
      "presence_penalty",
      "frequency_penalty",
      "repetition_penalty",
      "logit_bias",
      "logprobs",
      "top_logprobs",
      "stop",
      "seed",
      "n",
      "stream",
      "stream_options",
      "tools",
      "tool_choice",
      "parallel_tool_calls",
      "chat_template_kwargs",
      "user",
      "ignore_eos",
      "skip_special_tokens",
      "response_format",
      "modalities",
      "store",
      "service_tier",
      "safety_identifier",
  });
  ChatRequest out;
  Conversation conversation;
  read_conversation(reader, conversation);
  out.messages = std::move(conversation.messages);
  out.template_tools = std::move(conversation.template_tools);
  out.tool_choice = std::move(conversation.tool_choice);
  out.template_kwargs = std::move(conversation.template_kwargs);

  out.generation = read_generation_fields(reader, limits, {"max_tokens", "max_completion_tokens"});
  read_default_only_fields(reader);
  if (auto v = reader.boolean("parallel_tool_calls")) out.parallel_tool_calls = *v;
  SamplingParams& sampling = out.generation.sampling;
  if (auto v = reader.boolean("logprobs")) sampling.logprobs = *v;
  if (auto v = reader.integer("top_logprobs", 0, kMaxChatTopLogprobs)) {
    if (!sampling.logprobs) {
      reader.fail("top_logprobs", "'top_logprobs' requires 'logprobs': true");
    }
    sampling.top_logprobs = static_cast<int32_t>(*v);
  }
  if (!reader.ok()) return reader.error();
  return out;
}

ApiResult<TemplateRequest> parse_template_request(const nlohmann::ordered_json& body) {
  FieldReader reader(body, "");
  reader.reject_unknown({"model", "messages", "tools", "tool_choice", "chat_template_kwargs",
                         "add_generation_prompt"});
  TemplateRequest out;
  if (auto model = reader.string("model", 256)) out.model = std::move(*model);
  Conversation conversation;
  read_conversation(reader, conversation);
  out.messages = std::move(conversation.messages);
  out.template_tools = std::move(conversation.template_tools);
  out.template_kwargs = std::move(conversation.template_kwargs);
  if (auto v = reader.boolean("add_generation_prompt")) out.add_generation_prompt = *v;
  if (!reader.ok()) return reader.error();
  return out;
}

}  // namespace hearth::server
