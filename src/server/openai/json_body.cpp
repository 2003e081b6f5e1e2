#include "server/openai/json_body.h"

#include <fmt/core.h>

#include <cstdint>
#include <string>

namespace hearth::server {

std::optional<size_t> find_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min_cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min_cp = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min_cp = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min_cp = 0x10000;
    } else {
      return i;  // continuation byte without a lead, or 0xF8..0xFF
    }
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::nullopt;
}

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
