#include "server/openai/json_body.h"

#include <fmt/core.h>

#include <cstdint>
#include <string>

namespace hearth::server {

int json_nesting_depth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

ApiResult<nlohmann::ordered_json> parse_json_object_body(std::string_view body) {
  if (body.empty()) {
    return invalid_request("", "the request body is empty; expected a JSON object", "invalid_json");
  }
  if (const auto bad = find_invalid_utf8(body)) {
    return invalid_request(
        "", fmt::format("the request body is not valid UTF-8 (bad byte at offset {})", *bad),
        "invalid_utf8");
  }
  if (json_nesting_depth(body, kMaxJsonDepth) > kMaxJsonDepth) {
    return invalid_request(
        "",
        fmt::format("the request body nests arrays/objects deeper than {} levels", kMaxJsonDepth),
        "nesting_too_deep");
  }
  nlohmann::ordered_json value;
  try {
    value = nlohmann::ordered_json::parse(body.begin(), body.end());
  } catch (const nlohmann::ordered_json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    std::string what = e.what();
    if (const auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    return invalid_request("", "the request body is not valid JSON: " + what, "invalid_json");
  }
  if (!value.is_object()) {
    return invalid_request(
        "", std::string("the request body must be a JSON object, got ") + value.type_name(),
        "invalid_type");
  }
  return value;
}

}  // namespace hearth::server
