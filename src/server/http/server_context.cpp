#include "server/http/server_context.h"

#include <fmt/core.h>

#include <cstdint>

#include "server/openai/field_reader.h"
#include "server/openai/response_common.h"

namespace hearth::server {
namespace {

// FNV-1a: stable across runs and builds, unlike std::hash.
uint64_t fnv1a(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

ServerContext::ServerContext(Engine& engine_ref, ServerOptions options_value)
    : engine(engine_ref), options(std::move(options_value)) {
  const EngineModelInfo& info = engine.model_info();
  limits.context_size = info.context_size;
  limits.vocab_size = info.vocab_size;
  limits.model_id = info.id;
  system_fingerprint =
      fmt::format("fp_hearth_{:012x}", fnv1a(fmt::format("{}|{}|{}|{}", info.id, info.architecture,
                                                         info.context_size, info.vocab_size)) &
                                           0xffffffffffffull);
  parser_factory = options.output_parser_factory ? options.output_parser_factory
                                                 : OutputParserFactory(make_default_output_parser);
}

void send_json(httplib::Response& res, int status, const nlohmann::ordered_json& body) {
  res.status = status;
  res.set_content(dump_json(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& error) {
  send_json(res, error.http_status, api_error_json(error));
  if (error.http_status == 429) res.set_header("Retry-After", "1");
}

std::optional<ApiError> check_model(const ServerContext& ctx, const std::string& model) {
  if (model.empty() || model == ctx.limits.model_id) return std::nullopt;
  ApiError error;
  error.http_status = 404;
  error.type = "invalid_request_error";
  error.param = "model";
  error.code = "model_not_found";
  error.message = fmt::format("the model '{}' does not exist; this server serves '{}'",
                              text_preview(model), ctx.limits.model_id);
  return error;
}

}  // namespace hearth::server
