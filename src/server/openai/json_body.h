// Turns an untrusted request body into JSON: valid UTF-8, bounded nesting, one JSON object.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string_view>

#include "server/openai/api_error.h"

namespace hearth::server {

// Deepest nesting of arrays/objects accepted in a request body. Deep enough for real tool
// schemas, shallow enough that every recursive walk over the value is safe.
inline constexpr int kMaxJsonDepth = 64;

// Offset of the first byte that is not part of well-formed UTF-8 (no overlong forms, no
// surrogates, nothing above U+10FFFF), or nullopt when `text` is valid.
std::optional<size_t> find_invalid_utf8(std::string_view text);

// Nesting depth of arrays/objects in JSON text (strings are skipped), stopping early once it
// exceeds `limit`. Works on malformed text too: it only needs brackets and string quotes.
int json_nesting_depth(std::string_view text, int limit);

// 400 with code invalid_utf8 / nesting_too_deep / invalid_json / invalid_type (not an object).
ApiResult<nlohmann::ordered_json> parse_json_object_body(std::string_view body);

}  // namespace hearth::server
