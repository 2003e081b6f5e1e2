#include "server/http/server_options.h"

#include <arpa/inet.h>
#include <fmt/core.h>

#include <algorithm>
#include <string>

namespace hearth::server {

int http_thread_count(const ServerOptions& options) {
  if (options.http_threads > 0) return options.http_threads;
  return std::clamp(std::max(options.max_queue, 0) + kHttpSpareThreads, 8, 1024);
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  std::string text(host);
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

Status validate_server_options(const ServerOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return invalid_argument(fmt::format("--port {} is not a TCP port (0-65535)", options.port));
  }
  if (options.host.empty()) return invalid_argument("--host must not be empty");
  if (!is_loopback_host(options.host) && options.api_key.empty() && !options.insecure_no_api_key) {
    return invalid_argument(fmt::format(
        "refusing to listen on non-loopback address '{}' without --api-key: anyone who can "
        "reach it could use the model. Set --api-key KEY (or HEARTH_API_KEY), or pass "
        "--insecure-no-api-key if this network is trusted",
        options.host));
  }
  if (options.keep_alive_timeout_s < 1) {
    return invalid_argument("the keep-alive timeout must be at least 1 second");
  }
  if (options.max_body_bytes == 0) return invalid_argument("the request body limit must be > 0");
  if (!options.default_template_kwargs.is_object()) {
    return invalid_argument(
        "--chat-template-args must be a JSON object, e.g. "
        "'{\"enable_thinking\": false}'");
  }
  HEARTH_RETURN_IF_ERROR(check_tool_call_parser_name(options.tool_call_parser));
  for (const auto& origin : options.allowed_origins) {
    if (origin.empty()) return invalid_argument("--allowed-origins has an empty entry");
  }
  return Status();
}

}  // namespace hearth::server
