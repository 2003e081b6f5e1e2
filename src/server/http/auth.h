// Bearer-token authentication for `--api-key`.
#pragma once

#include <string_view>

namespace hearth::server {

// Compares without an early exit, so the time taken does not reveal how many leading bytes
// of a guess were right.
bool constant_time_equals(std::string_view a, std::string_view b);

// True when `authorization_header` is "Bearer <api_key>" (scheme case-insensitive).
bool bearer_token_matches(std::string_view authorization_header, std::string_view api_key);

}  // namespace hearth::server
