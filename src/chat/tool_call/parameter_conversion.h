// Converting XML-style tool-call parameter values (Qwen3-Coder writes every value as text) into
// JSON using the tool's JSON schema: "integer", "number", "boolean", "null", "object" and
// "array" values are parsed; "string", unknown parameters and values that do not parse as their
// declared type stay strings. A type list (["integer", "null"]) or anyOf/oneOf tries each type in
// order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth {

// The declared types of `parameter` in a function's parameters schema ({"properties": {...}});
// empty when the schema does not say (the value is then a string).
std::vector<std::string> parameter_types(const nlohmann::json& parameters_schema,
                                         std::string_view parameter);

// True when the value will be a JSON string whatever its text (so it can be streamed).
bool is_string_parameter(const std::vector<std::string>& types);

// `value` (already stripped of the template's surrounding newlines) as JSON text.
std::string convert_parameter(std::string_view value, const std::vector<std::string>& types);

// `text` escaped as the inside of a JSON string (no quotes). Bytes >= 0x80 pass through, so a
// UTF-8 sequence split across calls stays intact when the pieces are joined.
std::string escape_json_string_body(std::string_view text);

}  // namespace hearth
