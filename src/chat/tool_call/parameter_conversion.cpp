#include "chat/tool_call/parameter_conversion.h"

#include <algorithm>
#include <cstdio>

#include "core/text_match.h"

namespace hearth {
namespace {

using nlohmann::json;

void collect_types(const json& schema, std::vector<std::string>& types) {
  if (!schema.is_object()) return;
  if (auto it = schema.find("type"); it != schema.end()) {
    if (it->is_string()) types.push_back(it->get<std::string>());
    if (it->is_array()) {
      for (const json& t : *it) {
        if (t.is_string()) types.push_back(t.get<std::string>());
      }
    }
  }
  for (const char* key : {"anyOf", "oneOf"}) {
    if (auto it = schema.find(key); it != schema.end() && it->is_array()) {
      for (const json& sub : *it) collect_types(sub, types);
    }
  }
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
  return text;
}

// The JSON text of `value` parsed as `type`, or "" when it is not one.
std::string as_type(std::string_view value, const std::string& type) {
  const std::string_view v = trim(value);
  if (type == "null") return v == "null" ? "null" : "";
  if (type == "boolean") {
    std::string lower(v);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower == "true" || lower == "false" ? lower : "";
  }
  if (type != "integer" && type != "number" && type != "object" && type != "array") return "";
  try {
    const json parsed = json::parse(v);
    const bool ok = (type == "integer" && parsed.is_number_integer()) ||
                    (type == "number" && parsed.is_number()) ||
                    (type == "object" && parsed.is_object()) ||
                    (type == "array" && parsed.is_array());
    if (!ok) return "";
    return parsed.dump(-1, ' ', false, json::error_handler_t::replace);
  } catch (const json::exception&) {
    return "";
  }
}

}  // namespace

std::vector<std::string> parameter_types(const json& parameters_schema,
                                         std::string_view parameter) {
  std::vector<std::string> types;
  if (!parameters_schema.is_object()) return types;
  const auto properties = parameters_schema.find("properties");
  if (properties == parameters_schema.end() || !properties->is_object()) return types;
  const auto it = properties->find(std::string(parameter));
  if (it != properties->end()) collect_types(*it, types);
  return types;
}

bool is_string_parameter(const std::vector<std::string>& types) {
  for (const std::string& type : types) {
    if (type != "string") return false;
  }
  return true;  // only "string", or nothing declared
}

std::string convert_parameter(std::string_view value, const std::vector<std::string>& types) {
  // "null" first when allowed, so ["string", "null"] still maps the literal null to null.
  if (std::find(types.begin(), types.end(), "null") != types.end() && trim(value) == "null") {
    return "null";
  }
  for (const std::string& type : types) {
    if (type == "string") break;
    std::string converted = as_type(value, type);
    if (!converted.empty()) return converted;
  }
  std::string quoted(1, '"');  // (built up rather than with operator+: GCC 12 -Wrestrict)
  quoted += escape_json_string_body(value);
  quoted += '"';
  return quoted;
}

std::string escape_json_string_body(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace hearth
