#include "server/http/cors.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace hearth::server {

CorsPolicy::CorsPolicy(std::vector<std::string> allowed_origins)
    : allowed_(std::move(allowed_origins)) {
  any_ = std::find(allowed_.begin(), allowed_.end(), "*") != allowed_.end();
  // Browsers send origins without a trailing slash.
  for (auto& origin : allowed_) {
    while (origin.size() > 1 && origin.back() == '/') origin.pop_back();
  }
}

std::string CorsPolicy::allow_origin(std::string_view origin) const {
  if (origin.empty()) return "";
  if (any_) return "*";
  for (const auto& allowed : allowed_) {
    if (allowed == origin) return allowed;
  }
  return "";
}

std::string CorsPolicy::allow_headers(std::string_view requested) {
  constexpr size_t kMaxLength = 2048;
  const bool well_formed = !requested.empty() && requested.size() <= kMaxLength &&
                           std::all_of(requested.begin(), requested.end(), [](char c) {
                             return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                                    c == '_' || c == ',' || c == ' ';
                           });
  return well_formed ? std::string(requested) : "Authorization, Content-Type";
}

}  // namespace hearth::server
