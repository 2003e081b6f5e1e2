// How `hearth serve` is configured: network, security, limits and chat defaults.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"
#include "server/openai/output_parser.h"

namespace hearth::server {

struct ServerOptions {
  std::string host = "127.0.0.1";            // like mlx_lm.server: loopback unless asked otherwise
  int port = 8080;                           // 0: any free port (tests)
  std::string api_key;                       // empty: no authentication
  bool insecure_no_api_key = false;          // allow a non-loopback host without an API key
  std::vector<std::string> allowed_origins;  // CORS; "*" allows every origin; empty: none
  size_t max_body_bytes = 16u << 20;         // larger bodies get 413
  int max_queue = 64;    // the engine's queue limit, for sizing the HTTP thread pool
  int http_threads = 0;  // 0: max_queue + kHttpSpareThreads (see http_thread_count)
  // Idle keep-alive connections are closed after this long; stopping the server waits for
  // them, so this also bounds how long shutdown takes.
  int keep_alive_timeout_s = 5;
  // A ": keep-alive" SSE comment is sent when a stream has been silent this long.
  std::chrono::milliseconds keepalive_interval{5000};
  // How often a waiting request checks whether its client went away.
  std::chrono::milliseconds disconnect_poll_interval{50};
  std::string tool_call_parser;  // --tool-call-parser; empty: detect from the chat template
  nlohmann::ordered_json default_template_kwargs =
      nlohmann::ordered_json::object();       // --chat-template-args
  OutputParserFactory output_parser_factory;  // null: make_default_output_parser
};

// Threads beyond the engine's queue: requests that are running, plus /health, /metrics and
// requests being rejected, so a full engine answers 429 instead of stalling new connections.
inline constexpr int kHttpSpareThreads = 16;

int http_thread_count(const ServerOptions& options);

// Refuses a non-loopback host without an API key (unless insecure_no_api_key), a bad port,
// a zero body limit, and non-object chat template args.
Status validate_server_options(const ServerOptions& options);

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

}  // namespace hearth::server
