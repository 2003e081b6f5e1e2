#include "tokenizer/json_util.h"

#include "tokenizer/utf8.h"

namespace hearth {
namespace {

std::string where(std::string_view context, std::string_view key) {
  return std::string(context) + " field '" + std::string(key) + "'";
}

const nlohmann::json* find(const nlohmann::json& spec, std::string_view key) {
  if (!spec.is_object()) return nullptr;
  auto it = spec.find(std::string(key));
  return it == spec.end() ? nullptr : &*it;
}

}  // namespace

Expected<std::string> json_string(const nlohmann::json& spec, std::string_view key,
                                  std::string_view context) {
  const nlohmann::json* v = find(spec, key);
  if (v == nullptr) return invalid_argument(where(context, key) + " is missing");
  if (!v->is_string()) {
    return invalid_argument(where(context, key) + " must be a string, not " + v->type_name());
  }
  return v->get<std::string>();
}

Expected<const nlohmann::json*> json_array(const nlohmann::json& spec, std::string_view key,
                                           std::string_view context) {
  const nlohmann::json* v = find(spec, key);
  if (v == nullptr) return invalid_argument(where(context, key) + " is missing");
  if (!v->is_array()) {
    return invalid_argument(where(context, key) + " must be an array, not " + v->type_name());
  }
  return v;
}

Expected<bool> json_bool(const nlohmann::json& spec, std::string_view key, bool fallback,
                         std::string_view context) {
  const nlohmann::json* v = find(spec, key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_boolean()) {
    return invalid_argument(where(context, key) + " must be a boolean, not " + v->type_name());
  }
  return v->get<bool>();
}

Expected<int64_t> json_int(const nlohmann::json& spec, std::string_view key, int64_t fallback,
                           std::string_view context) {
  const nlohmann::json* v = find(spec, key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_number_integer()) {
    return invalid_argument(where(context, key) + " must be an integer, not " + v->type_name());
  }
  return v->get<int64_t>();
}

Expected<PatternSpec> json_pattern(const nlohmann::json& spec, std::string_view context) {
  const nlohmann::json* v = find(spec, "pattern");
  if (v == nullptr || !v->is_object()) {
    return invalid_argument(where(context, "pattern") +
                            " must be an object {\"String\": ...} or {\"Regex\": ...}");
  }
  PatternSpec pattern;
  if (v->contains("Regex")) {
    HEARTH_ASSIGN_OR_RETURN(pattern.text,
                            json_string(*v, "Regex", std::string(context) + " pattern"));
    pattern.is_regex = true;
  } else if (v->contains("String")) {
    HEARTH_ASSIGN_OR_RETURN(pattern.text,
                            json_string(*v, "String", std::string(context) + " pattern"));
  } else {
    return unsupported(where(context, "pattern") + " has neither 'String' nor 'Regex'");
  }
  return pattern;
}

Expected<std::string> json_char(const nlohmann::json& spec, std::string_view key,
                                std::string_view context) {
  HEARTH_ASSIGN_OR_RETURN(std::string s, json_string(spec, key, context));
  if (s.empty() || utf8::find_invalid(s) || utf8::count_code_points(s) != 1) {
    return invalid_argument(where(context, key) + " must be exactly one character, got '" + s +
                            "'");
  }
  return s;
}

}  // namespace hearth
