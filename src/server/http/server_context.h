// What every route handler works with: the engine, the options, metrics, and helpers to
// answer with JSON. Handlers receive the already-read body; auth, CORS, routing and body
// limits happen before them (http_server.cpp).
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <optional>
#include <string>

#include "runtime/engine/engine.h"
#include "server/http/metrics.h"
#include "server/http/server_options.h"
#include "server/openai/api_error.h"
#include "server/openai/generation_fields.h"

namespace hearth::server {

struct ServerContext {
  ServerContext(Engine& engine_ref, ServerOptions options_value);

  Engine& engine;
  const ServerOptions options;
  RequestLimits limits;            // from the engine's model info
  std::string system_fingerprint;  // stable for this model and configuration
  OutputParserFactory parser_factory;
  Metrics metrics;
  std::atomic<bool> stopping{false};  // set on shutdown: in-flight requests give up
};

void send_json(httplib::Response& res, int status, const nlohmann::ordered_json& body);
void send_error(httplib::Response& res, const ApiError& error);

// 404 model_not_found unless `model` is empty or the served model's id.
std::optional<ApiError> check_model(const ServerContext& ctx, const std::string& model);

using RouteHandler = void (*)(ServerContext& ctx, const httplib::Request& req,
                              const std::string& body, httplib::Response& res);

void handle_chat_completions(ServerContext& ctx, const httplib::Request& req,
                             const std::string& body, httplib::Response& res);
void handle_completions(ServerContext& ctx, const httplib::Request& req, const std::string& body,
                        httplib::Response& res);
void handle_models(ServerContext& ctx, const httplib::Request& req, const std::string& body,
                   httplib::Response& res);
void handle_model(ServerContext& ctx, const httplib::Request& req, const std::string& body,
                  httplib::Response& res);
void handle_health(ServerContext& ctx, const httplib::Request& req, const std::string& body,
                   httplib::Response& res);
void handle_metrics(ServerContext& ctx, const httplib::Request& req, const std::string& body,
                    httplib::Response& res);
void handle_tokenize(ServerContext& ctx, const httplib::Request& req, const std::string& body,
                     httplib::Response& res);
void handle_detokenize(ServerContext& ctx, const httplib::Request& req, const std::string& body,
                       httplib::Response& res);
void handle_apply_template(ServerContext& ctx, const httplib::Request& req, const std::string& body,
                           httplib::Response& res);

}  // namespace hearth::server
