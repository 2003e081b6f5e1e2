// Cross-origin access for browser clients (--allowed-origins). With no origins configured no
// CORS headers are sent, so browsers keep other sites from calling the server.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hearth::server {

class CorsPolicy {
 public:
  explicit CorsPolicy(std::vector<std::string> allowed_origins);

  // The Access-Control-Allow-Origin value for a request from `origin`, or "" when that origin
  // is not allowed (or no Origin header was sent).
  std::string allow_origin(std::string_view origin) const;

  // Access-Control-Allow-Headers for a preflight: the requested headers when they are a
  // well-formed list of header names, else the ones hearth's API uses.
  static std::string allow_headers(std::string_view requested);

 private:
  std::vector<std::string> allowed_;
  bool any_ = false;
};

}  // namespace hearth::server
