// Template selection and rendering with transformers' variables.
#include "chat/template/chat_template.h"

#include <utility>

namespace hearth {
namespace {

constexpr const char* kReservedVariables[] = {"messages", "tools", "documents",
                                              "add_generation_prompt"};

}  // namespace

Expected<ChatTemplate> ChatTemplate::from_source(std::string source, ChatSpecialTokens tokens,
                                                 std::string origin) {
  std::vector<std::pair<std::string, std::string>> named;
  named.emplace_back("default", std::move(source));
  return from_named(std::move(named), std::move(tokens), std::move(origin));
}

Expected<ChatTemplate> ChatTemplate::from_named(
    std::vector<std::pair<std::string, std::string>> named, ChatSpecialTokens tokens,
    std::string origin) {
  if (named.empty()) return not_found(origin + ": no chat template");
  ChatTemplate result;
  result.tokens_ = std::move(tokens);
  result.origin_ = std::move(origin);
  for (auto& [name, source] : named) {
    for (const Named& existing : result.templates_) {
      if (existing.name == name) {
        return invalid_argument(result.origin_ + ": chat template '" + name + "' is defined twice");
      }
    }
    Expected<jinja::Template> compiled = jinja::Template::parse(source);
    result.templates_.push_back(Named{name, std::move(source), std::move(compiled)});
  }
  return result;
}

std::vector<std::string> ChatTemplate::template_names() const {
  std::vector<std::string> names;
  for (const Named& t : templates_) {
    if (t.name == "default")
      names.insert(names.begin(), t.name);
    else
      names.push_back(t.name);
  }
  return names;
}

const std::string* ChatTemplate::source(std::string_view name) const {
  for (const Named& t : templates_) {
    if (t.name == name) return &t.source;
  }
  return nullptr;
}

// transformers' get_chat_template: an explicit name wins; with tools, "tool_use" if present;
// otherwise "default".
const ChatTemplate::Named* ChatTemplate::select(const ChatTemplateInput& input,
                                                Status& error) const {
  auto find = [this](std::string_view name) -> const Named* {
    for (const Named& t : templates_) {
      if (t.name == name) return &t;
    }
    return nullptr;
  };
  auto available = [this] {
    std::string names;
    for (const std::string& name : template_names()) names += (names.empty() ? "" : ", ") + name;
    return names;
  };
  if (!input.template_name.empty()) {
    if (const Named* t = find(input.template_name)) return t;
    error = not_found(origin_ + ": no chat template named '" + input.template_name +
                      "' (available: " + available() + ")");
    return nullptr;
  }
  if (!input.tools.is_null()) {
    if (const Named* t = find("tool_use")) return t;
  }
  if (const Named* t = find("default")) return t;
  error = not_found(origin_ +
                    " has several chat templates and none named 'default'; pick one "
                    "by name (available: " +
                    available() + ")");
  return nullptr;
}

namespace {

constexpr const char* kReasoningFields[] = {"reasoning_content", "thinking", "reasoning"};

// apply_chat_template's message clean-up: drop null-valued keys, then give the reasoning text
// every name templates read it under ({"thinking": r, **message, "reasoning_content": r}).
Expected<nlohmann::ordered_json> prepare_messages(const nlohmann::ordered_json& messages) {
  nlohmann::ordered_json prepared = nlohmann::ordered_json::array();
  size_t index = 0;
  for (const auto& message : messages) {
    if (!message.is_object()) {
      return invalid_argument("messages[" + std::to_string(index) +
                              "] must be a JSON object, got " + message.type_name());
    }
    ++index;
    nlohmann::ordered_json cleaned = nlohmann::ordered_json::object();
    for (const auto& [key, value] : message.items()) {
      if (!value.is_null()) cleaned[key] = value;
    }
    const nlohmann::ordered_json* reasoning = nullptr;
    for (const char* field : kReasoningFields) {
      const auto it = cleaned.find(field);
      if (it != cleaned.end()) {
        reasoning = &*it;
        break;
      }
    }
    if (!reasoning) {
      prepared.push_back(std::move(cleaned));
      continue;
    }
    nlohmann::ordered_json aliased = nlohmann::ordered_json::object();
    aliased["thinking"] = *reasoning;
    for (const auto& [key, value] : cleaned.items()) aliased[key] = value;
    aliased["reasoning_content"] = *reasoning;
    prepared.push_back(std::move(aliased));
  }
  return prepared;
}

}  // namespace

Expected<std::string> ChatTemplate::render(const ChatTemplateInput& input,
                                           const jinja::RenderOptions& options) const {
  Status error;
  const Named* chosen = select(input, error);
  if (!chosen) return error;
  if (!chosen->compiled.ok()) {
    return chosen->compiled.status().with_context(origin_ + " ('" + chosen->name + "')");
  }
  if (!input.messages.is_array()) {
    return invalid_argument("messages must be a JSON array, got " +
                            std::string(input.messages.type_name()));
  }
  if (!input.tools.is_null() && !input.tools.is_array()) {
    return invalid_argument("tools must be a JSON array or null, got " +
                            std::string(input.tools.type_name()));
  }
  if (!input.kwargs.is_object()) {
    return invalid_argument("chat template kwargs must be a JSON object, got " +
                            std::string(input.kwargs.type_name()));
  }
  if (input.messages.empty()) {
    return invalid_argument(
        "Cannot apply chat template to an empty conversation. Provide at "
        "least one message.");
  }
  HEARTH_ASSIGN_OR_RETURN(nlohmann::ordered_json messages, prepare_messages(input.messages));
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
  const std::pair<const char*, const std::optional<std::string>*> special[] = {
      {"bos_token", &tokens_.bos_token},
      {"eos_token", &tokens_.eos_token},
      {"unk_token", &tokens_.unk_token},
      {"pad_token", &tokens_.pad_token}};
  for (const auto& [name, token] : special) {
    if (*token) variables[name] = **token;
  }
  for (const auto& [key, value] : input.kwargs.items()) {
    for (const char* reserved : kReservedVariables) {
      if (key == reserved) {
        return invalid_argument("chat template kwargs may not set '" + key +
                                "'; pass it as its own argument");
      }
    }
    variables[key] = value;
  }
  variables["messages"] = std::move(messages);
  variables["tools"] = input.tools;
  variables["documents"] = input.documents;
  variables["add_generation_prompt"] = input.add_generation_prompt;
  return chosen->compiled->render(variables, options);
}

Expected<std::string> ChatTemplate::render(const nlohmann::ordered_json& messages,
                                           const nlohmann::ordered_json& tools,
                                           bool add_generation_prompt,
                                           const nlohmann::ordered_json& kwargs) const {
  ChatTemplateInput input;
  input.messages = messages;
  input.tools = tools;
  input.add_generation_prompt = add_generation_prompt;
  input.kwargs = kwargs;
  return render(input);
}

}  // namespace hearth
