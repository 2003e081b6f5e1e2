// JSON in and out of the Jinja value model: template variables arrive as JSON (object key order
// kept, so use nlohmann::ordered_json), and the `tojson` filter must print exactly what
// Python's json.dumps prints with the options transformers exposes.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "chat/jinja/value.h"

namespace hearth::jinja {

// Converts caller JSON to a value. Throws JinjaError when a string is not valid UTF-8, an
// unsigned integer does not fit in int64, or nesting exceeds kMaxValueDepth; `path` names the
// offending element ("messages[2].content").
Value value_from_json(const nlohmann::ordered_json& json, const std::string& path);

struct JsonDumpOptions {
  bool ensure_ascii = false;
  std::optional<std::string> indent;  // nullopt: single line
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
};

// json.dumps(value, ...). Throws JinjaError (as Python raises TypeError) for values JSON cannot
// represent: Undefined, generators, dict views, namespaces, macros, non-scalar keys.
std::string json_dumps(const Value& value, const JsonDumpOptions& options);

}  // namespace hearth::jinja
