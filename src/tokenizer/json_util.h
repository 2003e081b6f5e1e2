// Typed, non-throwing access to tokenizer.json fields: each error names the field and where it
// was expected, so a malformed or unusual file says exactly what is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hearth/status.h"

namespace hearth {

// spec[key] as a string; an error naming `context` and `key` when absent or not a string.
Expected<std::string> json_string(const nlohmann::json& spec, std::string_view key,
                                  std::string_view context);
// spec[key] as an array.
Expected<const nlohmann::json*> json_array(const nlohmann::json& spec, std::string_view key,
                                           std::string_view context);
// spec[key] as a bool, `fallback` when absent or null.
Expected<bool> json_bool(const nlohmann::json& spec, std::string_view key, bool fallback,
                         std::string_view context);
// spec[key] as an integer, `fallback` when absent or null.
Expected<int64_t> json_int(const nlohmann::json& spec, std::string_view key, int64_t fallback,
                           std::string_view context);

// A Split/Replace "pattern": {"String": "..."} or {"Regex": "..."}.
struct PatternSpec {
  std::string text;
  bool is_regex = false;
};
Expected<PatternSpec> json_pattern(const nlohmann::json& spec, std::string_view context);

// A single code point given as a one-character string (Metaspace "replacement", Strip "content").
Expected<std::string> json_char(const nlohmann::json& spec, std::string_view key,
                                std::string_view context);

}  // namespace hearth
