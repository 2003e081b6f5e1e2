#include "server/openai/field_reader.h"

#include <fmt/core.h>

#include <cmath>
#include <limits>
#include <utility>

namespace hearth::server {

std::string json_type_name(const nlohmann::ordered_json& value) {
  switch (value.type()) {
    case nlohmann::ordered_json::value_t::null:
      return "null";
    case nlohmann::ordered_json::value_t::boolean:
      return "boolean";
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned:
      return "integer";
    case nlohmann::ordered_json::value_t::number_float:
      return "number";
    case nlohmann::ordered_json::value_t::string:
      return "string";
    case nlohmann::ordered_json::value_t::array:
      return "array";
    case nlohmann::ordered_json::value_t::object:
      return "object";
    default:
      return "value";
  }
}

std::string json_preview(const nlohmann::ordered_json& value) {
  constexpr size_t kMax = 40;
  std::string text = value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

std::string text_preview(std::string_view text) {
  constexpr size_t kMax = 40;
  if (text.size() <= kMax) return std::string(text);
  return std::string(text.substr(0, kMax)) + "...";
}

FieldReader::FieldReader(const nlohmann::ordered_json& object, std::string path)
    : object_(object), path_(std::move(path)) {}

bool FieldReader::has(std::string_view key) const {
  return value(key) != nullptr;
}

const nlohmann::ordered_json* FieldReader::value(std::string_view key) const {
  if (!object_.is_object()) return nullptr;
  const auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string FieldReader::param(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

void FieldReader::fail(std::string_view key, std::string message, std::string code) {
  if (error_) return;
  error_ = invalid_request(param(key), std::move(message), std::move(code));
}

void FieldReader::fail(ApiError error) {
  if (!error_) error_ = std::move(error);
}

void FieldReader::fail_type(std::string_view key, std::string_view expected) {
  const nlohmann::ordered_json* v = value(key);
  fail(key,
       fmt::format("'{}' must be {}, got {} {}", param(key), expected,
                   v ? json_type_name(*v) : "nothing", v ? json_preview(*v) : ""),
       "invalid_type");
}

std::optional<bool> FieldReader::boolean(std::string_view key) {
  const nlohmann::ordered_json* v = value(key);
  if (!ok() || !v) return std::nullopt;
  if (!v->is_boolean()) {
    fail_type(key, "a boolean");
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<double> FieldReader::number(std::string_view key, double min, double max) {
  const nlohmann::ordered_json* v = value(key);
  if (!ok() || !v) return std::nullopt;
  if (!v->is_number()) {
    fail_type(key, "a number");
    return std::nullopt;
  }
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    fail(key, fmt::format("'{}' must be between {} and {}, got {}", param(key), min, max,
                          json_preview(*v)));
    return std::nullopt;
  }
  return d;
}

std::optional<int64_t> FieldReader::integer(std::string_view key, int64_t min, int64_t max) {
  const nlohmann::ordered_json* v = value(key);
  if (!ok() || !v) return std::nullopt;
  if (!v->is_number_integer()) {  // also true for number_unsigned
    fail_type(key, "an integer");
    return std::nullopt;
  }
  bool in_range = false;
  int64_t result = 0;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      result = static_cast<int64_t>(u);
      in_range = result >= min && result <= max;
    }
  } else {
    result = v->get<int64_t>();
    in_range = result >= min && result <= max;
  }
  if (!in_range) {
    fail(key, fmt::format("'{}' must be an integer between {} and {}, got {}", param(key), min, max,
                          json_preview(*v)));
    return std::nullopt;
  }
  return result;
}

std::optional<std::string> FieldReader::string(std::string_view key, size_t max_bytes) {
  const nlohmann::ordered_json* v = value(key);
  if (!ok() || !v) return std::nullopt;
  if (!v->is_string()) {
    fail_type(key, "a string");
    return std::nullopt;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    fail(key,
         fmt::format("'{}' is {} bytes long; the limit is {}", param(key), s.size(), max_bytes));
    return std::nullopt;
  }
  return s;
}

const nlohmann::ordered_json* FieldReader::object(std::string_view key) {
  const nlohmann::ordered_json* v = value(key);
  if (!ok() || !v) return nullptr;
  if (!v->is_object()) {
    fail_type(key, "an object");
    return nullptr;
  }
  return v;
}

const nlohmann::ordered_json* FieldReader::array(std::string_view key) {
  const nlohmann::ordered_json* v = value(key);
  if (!ok() || !v) return nullptr;
  if (!v->is_array()) {
    fail_type(key, "an array");
    return nullptr;
  }
  return v;
}

void FieldReader::reject_unknown(std::initializer_list<std::string_view> known) {
  if (!ok() || !object_.is_object()) return;
  for (const auto& [key, unused] : object_.items()) {
    bool found = false;
    for (const auto k : known) found = found || k == key;
    if (!found) {
      fail(key, fmt::format("unknown field '{}'", param(key)), "unknown_parameter");
      return;
    }
  }
}

}  // namespace hearth::server
