// Turns an untrusted request body into JSON: valid UTF-8, bounded nesting, one JSON object.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string_view>

#include "core/utf8.h"
#include "server/openai/api_error.h"

namespace hearth::server {

// Deepest nesting of arrays/objects accepted in a request body. Deep enough for real tool
// schemas, shallow enough that every recursive walk over the value is safe.
inline constexpr int kMaxJsonDepth = 64;

// Nesting depth of arrays/objects in JSON text (strings are skipped), stopping early once it
// exceeds `limit`. Works on malformed text too: it only needs brackets and string quotes.
int json_nesting_depth(std::string_view text, int limit);

// 400 with code invalid_utf8 / nesting_too_deep / invalid_json / invalid_type (not an object).
ApiResult<nlohmann::ordered_json> parse_json_object_body(std::string_view body);

}  // namespace hearth::server
