// GET /v1/models, GET /v1/models/{id}, GET /health, GET /metrics, POST /tokenize,
// POST /detokenize.
#include <fmt/core.h>

#include "server/http/server_context.h"
#include "server/openai/field_reader.h"
#include "server/openai/json_body.h"
#include "server/openai/response_common.h"
#include "server/openai/utility_requests.h"

namespace hearth::server {
namespace {

nlohmann::ordered_json model_object(const ServerContext& ctx) {
  static const int64_t kCreated = unix_time_now();  // when the server started
  return {{"id", ctx.limits.model_id},
          {"object", "model"},
          {"created", kCreated},
          {"owned_by", "hearth"},
          {"context_length", ctx.limits.context_size}};
}

}  // namespace

void handle_models(ServerContext& ctx, const httplib::Request& /*req*/, const std::string& /*body*/,
                   httplib::Response& res) {
  send_json(res, 200,
            {{"object", "list"}, {"data", nlohmann::ordered_json::array({model_object(ctx)})}});
}

void handle_model(ServerContext& ctx, const httplib::Request& req, const std::string& /*body*/,
                  httplib::Response& res) {
  constexpr std::string_view kPrefix = "/v1/models/";
  const std::string id = req.path.substr(std::min(req.path.size(), kPrefix.size()));
  if (id != ctx.limits.model_id) {
    ApiError error;
    error.http_status = 404;
    error.param = "model";
    error.code = "model_not_found";
    error.message = fmt::format("the model '{}' does not exist; this server serves '{}'",
                                text_preview(id), ctx.limits.model_id);
    return send_error(res, error);
  }
  send_json(res, 200, model_object(ctx));
}

void handle_health(ServerContext& ctx, const httplib::Request& /*req*/, const std::string& /*body*/,
                   httplib::Response& res) {
  send_json(res, 200,
            {{"status", "ok"},
             {"model", ctx.limits.model_id},
             {"queued", ctx.engine.queued()},
             {"running", ctx.engine.running()}});
}

void handle_metrics(ServerContext& ctx, const httplib::Request& /*req*/,
                    const std::string& /*body*/, httplib::Response& res) {
  res.status = 200;
  res.set_content(ctx.metrics.render(ctx.engine.queued(), ctx.engine.running()),
                  "text/plain; version=0.0.4; charset=utf-8");
}

void handle_tokenize(ServerContext& ctx, const httplib::Request& /*req*/, const std::string& body,
                     httplib::Response& res) {
  auto json = parse_json_object_body(body);
  if (!json.ok()) return send_error(res, json.error());
  auto parsed = parse_tokenize_request(*json);
  if (!parsed.ok()) return send_error(res, parsed.error());
  auto tokens = ctx.engine.tokenize(parsed->content, parsed->add_special, parsed->parse_special);
  if (!tokens.ok()) return send_error(res, api_error_from_status(tokens.status()));
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const int32_t token : *tokens) {
    if (!parsed->with_pieces) {
      out.push_back(token);
      continue;
    }
    auto piece = ctx.engine.detokenize({token});
    if (!piece.ok()) return send_error(res, api_error_from_status(piece.status()));
    nlohmann::ordered_json entry = {{"id", token}};
    // A piece may be part of a UTF-8 character: then it is given as its bytes.
    if (find_invalid_utf8(*piece)) {
      nlohmann::ordered_json bytes = nlohmann::ordered_json::array();
      for (const char c : *piece) bytes.push_back(static_cast<unsigned char>(c));
      entry["piece"] = std::move(bytes);
    } else {
      entry["piece"] = *piece;
    }
    out.push_back(std::move(entry));
  }
  send_json(res, 200, {{"tokens", std::move(out)}});
}

void handle_detokenize(ServerContext& ctx, const httplib::Request& /*req*/, const std::string& body,
                       httplib::Response& res) {
  auto json = parse_json_object_body(body);
  if (!json.ok()) return send_error(res, json.error());
  auto parsed = parse_detokenize_request(*json, ctx.limits.vocab_size);
  if (!parsed.ok()) return send_error(res, parsed.error());
  auto text = ctx.engine.detokenize(parsed->tokens);
  if (!text.ok()) return send_error(res, api_error_from_status(text.status()));
  send_json(res, 200, {{"content", *text}});
}

}  // namespace hearth::server
