#include "server/openai/chat_messages.h"

#include <fmt/core.h>

#include <optional>
#include <set>
#include <string_view>

#include "server/openai/field_reader.h"

namespace hearth::server {
namespace {

constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxIdBytes = 256;
constexpr size_t kMaxContentParts = 10000;
constexpr size_t kMaxFunctionNameBytes = 64;

bool is_valid_function_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxFunctionNameBytes) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Content as a string (or null when `allow_null` and absent/null). Arrays of text parts are
// joined with "\n"; other part types name themselves in the error.
ApiResult<nlohmann::ordered_json> read_content(const nlohmann::ordered_json& message,
                                               const std::string& path, bool allow_null) {
  const std::string param = path + ".content";
  const auto it = message.find("content");
  if (it == message.end() || it->is_null()) {
    if (allow_null) return nlohmann::ordered_json(nullptr);
    return invalid_request(param, fmt::format("'{}' is required for this role", param),
                           "missing_required_parameter");
  }
  if (it->is_string()) return *it;
  if (!it->is_array()) {
    return invalid_request(param,
                           fmt::format("'{}' must be a string or an array of content parts, got {}",
                                       param, json_type_name(*it)),
                           "invalid_type");
  }
  if (it->size() > kMaxContentParts) {
    return invalid_request(param,
                           fmt::format("'{}' has more than {} parts", param, kMaxContentParts),
                           "invalid_value");
  }
  std::string joined;
  for (size_t j = 0; j < it->size(); ++j) {
    const auto& part = (*it)[j];
    const std::string part_path = fmt::format("{}[{}]", param, j);
    if (!part.is_object()) {
      return invalid_request(
          part_path, fmt::format("'{}' must be an object, got {}", part_path, json_type_name(part)),
          "invalid_type");
    }
    FieldReader reader(part, part_path);
    const auto type = reader.string("type", 64);
    if (!reader.ok()) return reader.error();
    if (!type) {
      return invalid_request(part_path + ".type", fmt::format("'{}.type' is required", part_path),
                             "missing_required_parameter");
    }
    if (*type != "text") {
      return invalid_request(
          part_path + ".type",
          fmt::format("content part type '{}' is not supported; only 'text' parts are (the "
                      "loaded model takes no images, audio or files)",
                      text_preview(*type)),
          "unsupported_content_type");
    }
    const auto text = reader.string("text", std::string::npos);
    reader.reject_unknown({"type", "text"});
    if (!reader.ok()) return reader.error();
    if (!text) {
      return invalid_request(part_path + ".text", fmt::format("'{}.text' is required", part_path),
                             "missing_required_parameter");
    }
    if (j > 0) joined += '\n';
    joined += *text;
  }
  return nlohmann::ordered_json(std::move(joined));
}

ApiResult<nlohmann::ordered_json> read_tool_calls(const nlohmann::ordered_json& calls,
                                                  const std::string& path) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t k = 0; k < calls.size(); ++k) {
    const auto& call = calls[k];
    const std::string call_path = fmt::format("{}.tool_calls[{}]", path, k);
    if (!call.is_object()) {
      return invalid_request(call_path, fmt::format("'{}' must be an object", call_path),
                             "invalid_type");
    }
    FieldReader reader(call, call_path);
    const auto id = reader.string("id", kMaxIdBytes);
    const auto type = reader.string("type", 64);
    const nlohmann::ordered_json* function = reader.object("function");
    reader.reject_unknown({"id", "type", "function"});
    if (!reader.ok()) return reader.error();
    if (!id)
      reader.fail("id", fmt::format("'{}.id' is required", call_path),
                  "missing_required_parameter");
    if (type && *type != "function") {
      reader.fail("type", fmt::format("'{}.type' must be \"function\"", call_path));
    }
    if (!function)
      reader.fail("function", fmt::format("'{}.function' is required", call_path),
                  "missing_required_parameter");
    if (!reader.ok()) return reader.error();

    FieldReader fn(*function, call_path + ".function");
    const auto name = fn.string("name", kMaxFunctionNameBytes);
    const auto arguments = fn.string("arguments", std::string::npos);
    fn.reject_unknown({"name", "arguments"});
    if (!fn.ok()) return fn.error();
    if (!name || name->empty()) {
      return invalid_request(fn.param("name"), fmt::format("'{}' is required", fn.param("name")),
                             "missing_required_parameter");
    }
    if (!arguments) {
      return invalid_request(fn.param("arguments"),
                             fmt::format("'{}' is required (a JSON string)", fn.param("arguments")),
                             "missing_required_parameter");
    }
    nlohmann::ordered_json parsed_arguments;
    try {
      parsed_arguments = nlohmann::ordered_json::parse(*arguments);
    } catch (const nlohmann::ordered_json::exception&) {
      return invalid_request(
          fn.param("arguments"),
          fmt::format("'{}' must be a JSON object encoded as a string", fn.param("arguments")),
          "invalid_value");
    }
    if (!parsed_arguments.is_object()) {
      return invalid_request(fn.param("arguments"),
                             fmt::format("'{}' must encode a JSON object, got {}",
                                         fn.param("arguments"), json_type_name(parsed_arguments)),
                             "invalid_value");
    }
    out.push_back({{"id", *id},
                   {"type", "function"},
                   {"function", {{"name", *name}, {"arguments", std::move(parsed_arguments)}}}});
  }
  return out;
}

ApiResult<nlohmann::ordered_json> normalize_message(const nlohmann::ordered_json& message,
                                                    const std::string& path) {
  if (!message.is_object()) {
    return invalid_request(
        path, fmt::format("'{}' must be an object, got {}", path, json_type_name(message)),
        "invalid_type");
  }
  FieldReader reader(message, path);
  const auto role = reader.string("role", 64);
  if (!reader.ok()) return reader.error();
  if (!role) {
    return invalid_request(path + ".role", fmt::format("'{}.role' is required", path),
                           "missing_required_parameter");
  }
  nlohmann::ordered_json out;
  if (*role == "system" || *role == "developer" || *role == "user") {
    reader.reject_unknown({"role", "content", "name"});
    out["role"] = *role == "developer" ? "system" : *role;
  } else if (*role == "assistant") {
    reader.reject_unknown(
        {"role", "content", "name", "tool_calls", "reasoning_content", "refusal"});
    out["role"] = "assistant";
  } else if (*role == "tool") {
    reader.reject_unknown({"role", "content", "tool_call_id", "name"});
    out["role"] = "tool";
  } else {
    return invalid_request(
        path + ".role",
        fmt::format("'{}.role' is '{}'; expected system, developer, user, assistant or tool", path,
                    text_preview(*role)),
        "invalid_value");
  }
  if (!reader.ok()) return reader.error();

  const nlohmann::ordered_json* tool_calls = nullptr;
  std::optional<std::string> reasoning;
  if (*role == "assistant") {
    tool_calls = reader.array("tool_calls");
    reasoning = reader.string("reasoning_content", std::string::npos);
    (void)reader.string("refusal", std::string::npos);
    if (!reader.ok()) return reader.error();
  }
  const bool has_tool_calls = tool_calls && !tool_calls->empty();
  auto content = read_content(message, path, /*allow_null=*/has_tool_calls);
  if (!content.ok()) return content.error();
  // A tool-calling assistant turn usually has content null. Templates written without tool
  // support concatenate message['content'] and would fail on a missing key, so it becomes "" (as
  // llama.cpp's server does); tool-aware templates treat "" and null alike.
  out["content"] = content->is_null() ? nlohmann::ordered_json("") : std::move(*content);
  if (auto name = reader.string("name", kMaxNameBytes)) out["name"] = std::move(*name);
  if (has_tool_calls) {
    auto calls = read_tool_calls(*tool_calls, path);
    if (!calls.ok()) return calls.error();
    out["tool_calls"] = std::move(*calls);
  }
  if (*role == "tool") {
    const auto id = reader.string("tool_call_id", kMaxIdBytes);
    if (reader.ok() && !id) {
      reader.fail("tool_call_id", fmt::format("'{}.tool_call_id' is required", path),
                  "missing_required_parameter");
    }
    if (id) out["tool_call_id"] = *id;
  }
  if (reasoning) out["reasoning_content"] = std::move(*reasoning);
  if (!reader.ok()) return reader.error();
  return out;
}

}  // namespace

ApiResult<nlohmann::ordered_json> normalize_messages(const nlohmann::ordered_json& messages) {
  if (!messages.is_array()) {
    return invalid_request(
        "messages", "'messages' must be an array of messages, got " + json_type_name(messages),
        "invalid_type");
  }
  if (messages.empty()) {
    return invalid_request("messages", "'messages' must contain at least one message",
                           "invalid_value");
  }
  if (messages.size() > kMaxMessages) {
    return invalid_request("messages",
                           fmt::format("'messages' has more than {} entries", kMaxMessages),
                           "invalid_value");
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    auto message = normalize_message(messages[i], fmt::format("messages[{}]", i));
    if (!message.ok()) return message.error();
    out.push_back(std::move(*message));
  }
  return out;
}

ApiResult<nlohmann::ordered_json> normalize_tools(const nlohmann::ordered_json& tools) {
  if (!tools.is_array()) {
    return invalid_request("tools", "'tools' must be an array, got " + json_type_name(tools),
                           "invalid_type");
  }
  if (tools.size() > kMaxTools) {
    return invalid_request(
        "tools",
        fmt::format("'tools' has {} entries; at most {} are allowed", tools.size(), kMaxTools),
        "invalid_value");
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  std::set<std::string> names;
  for (size_t i = 0; i < tools.size(); ++i) {
    const std::string path = fmt::format("tools[{}]", i);
    if (!tools[i].is_object()) {
      return invalid_request(path, fmt::format("'{}' must be an object", path), "invalid_type");
    }
    FieldReader reader(tools[i], path);
    const auto type = reader.string("type", 64);
    const nlohmann::ordered_json* function = reader.object("function");
    reader.reject_unknown({"type", "function"});
    if (!reader.ok()) return reader.error();
    if (!type || *type != "function") {
      return invalid_request(
          path + ".type",
          fmt::format("'{}.type' must be \"function\" (the only tool type supported)", path),
          type ? "unsupported_value" : "missing_required_parameter");
    }
    if (!function) {
      return invalid_request(path + ".function", fmt::format("'{}.function' is required", path),
                             "missing_required_parameter");
    }
    FieldReader fn(*function, path + ".function");
    const auto name = fn.string("name", std::string::npos);
    const auto description = fn.string("description", std::string::npos);
    const nlohmann::ordered_json* parameters = fn.object("parameters");
    (void)fn.boolean("strict");  // accepted; output is not constrained (see docs/API.md)
    fn.reject_unknown({"name", "description", "parameters", "strict"});
    if (!fn.ok()) return fn.error();
    if (!name) {
      return invalid_request(fn.param("name"), fmt::format("'{}' is required", fn.param("name")),
                             "missing_required_parameter");
    }
    if (!is_valid_function_name(*name)) {
      return invalid_request(
          fn.param("name"),
          fmt::format("'{}' must be 1-64 characters of a-z, A-Z, 0-9, '_', '-' or '.', got '{}'",
                      fn.param("name"), text_preview(*name)),
          "invalid_value");
    }
    if (!names.insert(*name).second) {
      return invalid_request(fn.param("name"),
                             fmt::format("tool name '{}' is defined more than once", *name),
                             "invalid_value");
    }
    nlohmann::ordered_json normalized = {{"name", *name}};
    if (description) normalized["description"] = *description;
    normalized["parameters"] =
        parameters ? *parameters
                   : nlohmann::ordered_json{{"type", "object"},
                                            {"properties", nlohmann::ordered_json::object()}};
    out.push_back({{"type", "function"}, {"function", std::move(normalized)}});
  }
  return out;
}

ApiResult<ToolChoiceSpec> parse_tool_choice(const nlohmann::ordered_json& choice,
                                            const nlohmann::ordered_json& tools) {
  ToolChoiceSpec spec;
  const bool have_tools = tools.is_array() && !tools.empty();
  if (choice.is_string()) {
    const auto& s = choice.get_ref<const std::string&>();
    if (s == "none") {
      spec.mode = ToolChoice::kNone;
    } else if (s == "auto") {
      spec.mode = ToolChoice::kAuto;
    } else if (s == "required") {
      spec.mode = ToolChoice::kRequired;
    } else {
      return invalid_request("tool_choice",
                             fmt::format("'tool_choice' is '{}'; expected none, auto, required "
                                         "or {{\"type\": \"function\", \"function\": "
                                         "{{\"name\": ...}}}}",
                                         text_preview(s)),
                             "invalid_value");
    }
  } else if (choice.is_object()) {
    FieldReader reader(choice, "tool_choice");
    const auto type = reader.string("type", 64);
    const nlohmann::ordered_json* function = reader.object("function");
    reader.reject_unknown({"type", "function"});
    if (!reader.ok()) return reader.error();
    if (!type || *type != "function" || !function) {
      return invalid_request("tool_choice",
                             "'tool_choice' objects must be {\"type\": \"function\", "
                             "\"function\": {\"name\": ...}}",
                             "invalid_value");
    }
    FieldReader fn(*function, "tool_choice.function");
    const auto name = fn.string("name", kMaxFunctionNameBytes);
    fn.reject_unknown({"name"});
    if (!fn.ok()) return fn.error();
    if (!name) {
      return invalid_request("tool_choice.function.name", "'tool_choice.function.name' is required",
                             "missing_required_parameter");
    }
    spec.mode = ToolChoice::kNamed;
    spec.function_name = *name;
    bool found = false;
    if (have_tools) {
      for (const auto& tool : tools) found = found || tool["function"]["name"] == *name;
    }
    if (!found) {
      return invalid_request("tool_choice.function.name",
                             fmt::format("'tool_choice' names function '{}', which is not in "
                                         "'tools'",
                                         text_preview(*name)),
                             "invalid_value");
    }
  } else {
    return invalid_request(
        "tool_choice", "'tool_choice' must be a string or an object, got " + json_type_name(choice),
        "invalid_type");
  }
  if (!have_tools && (spec.mode == ToolChoice::kRequired || spec.mode == ToolChoice::kNamed)) {
    return invalid_request("tool_choice",
                           "'tool_choice' requires 'tools' unless it is \"none\" or \"auto\"",
                           "invalid_value");
  }
  return spec;
}

}  // namespace hearth::server
