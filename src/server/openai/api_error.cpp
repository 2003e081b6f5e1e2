#include "server/openai/api_error.h"

namespace hearth::server {

nlohmann::ordered_json api_error_json(const ApiError& error) {
  nlohmann::ordered_json body = {{"message", error.message}, {"type", error.type}};
  body["param"] =
      error.param.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(error.param);
  body["code"] =
      error.code.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(error.code);
  return {{"error", std::move(body)}};
}

ApiError invalid_request(std::string param, std::string message, std::string code) {
  ApiError error;
  error.http_status = 400;
  error.type = "invalid_request_error";
  error.param = std::move(param);
  error.message = std::move(message);
  error.code = std::move(code);
  return error;
}

ApiError api_error_from_status(const Status& status) {
  ApiError error;
  error.message = status.message();
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      error.code = "invalid_value";
      break;
    case StatusCode::kUnsupported:
      error.code = "unsupported_value";
      break;
    case StatusCode::kOutOfRange:
      error.code = "context_length_exceeded";
      break;
    case StatusCode::kResourceExhausted:
      error.http_status = 429;
      error.type = "rate_limit_error";
      error.code = "queue_full";
      break;
    case StatusCode::kCancelled:
      error.http_status = 499;
      error.type = "cancelled";
      error.code = "cancelled";
      break;
    default:
      error.http_status = 500;
      error.type = "server_error";
      error.code = "internal_error";
      break;
  }
  return error;
}

}  // namespace hearth::server
