// Errors as the OpenAI API reports them: an HTTP status plus
// {"error": {"message", "type", "param", "code"}}. Request parsing returns ApiResult<T>, which
// carries the first problem found with the field that caused it.
#pragma once

#include <nlohmann/json.hpp>

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "hearth/status.h"

namespace hearth::server {

struct ApiError {
  int http_status = 400;
  std::string type = "invalid_request_error";
  std::string message;
  std::string param;  // the offending field ("messages[2].role"); empty -> null
  std::string code;   // machine-readable reason ("invalid_type"); empty -> null
};

// {"error": {...}}, the body of every error response.
nlohmann::ordered_json api_error_json(const ApiError& error);

// 400 invalid_request_error naming `param`.
ApiError invalid_request(std::string param, std::string message, std::string code);

// How an engine Status surfaces to clients: InvalidArgument -> 400, OutOfRange -> 400
// context_length_exceeded, ResourceExhausted -> 429, Unsupported -> 400, others -> 500.
ApiError api_error_from_status(const Status& status);

// A T, or the ApiError saying why there is none.
template <typename T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}         // NOLINT
  ApiResult(ApiError error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const ApiError& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, ApiError> v_;
};

}  // namespace hearth::server
