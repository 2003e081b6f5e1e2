// Typed, range-checked access to the fields of one JSON object from a request. The first
// problem found is kept (with the field's full path, e.g. "messages[1].content") and every
// later read returns nothing, so parsers read fields in sequence and check ok() once.
// A field that is absent or null counts as "not given".
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "server/openai/api_error.h"

namespace hearth::server {

class FieldReader {
 public:
  // `object` must outlive the reader. `path` is the object's own path ("" at the top level).
  FieldReader(const nlohmann::ordered_json& object, std::string path);

  bool ok() const { return !error_.has_value(); }
  const ApiError& error() const { return *error_; }

  // Present and not null.
  bool has(std::string_view key) const;
  // "messages[0].role" for key "role" under path "messages[0]".
  std::string param(std::string_view key) const;
  // Sets the error (if none yet) naming `key`.
  void fail(std::string_view key, std::string message, std::string code = "invalid_value");
  // Records an error found elsewhere (keeps the first).
  void fail(ApiError error);

  std::optional<bool> boolean(std::string_view key);
  // A finite number in [min, max].
  std::optional<double> number(std::string_view key, double min, double max);
  // An integer in [min, max]; 3.0 is not an integer.
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max);
  // A string of at most `max_bytes` bytes.
  std::optional<std::string> string(std::string_view key, size_t max_bytes);
  // The value if it is an object / array, else nullptr (with an error when present).
  const nlohmann::ordered_json* object(std::string_view key);
  const nlohmann::ordered_json* array(std::string_view key);
  // Any present value (no type check).
  const nlohmann::ordered_json* value(std::string_view key) const;

  // Fails on the first key not in `known` (OpenAI answers unknown fields with a 400 too).
  void reject_unknown(std::initializer_list<std::string_view> known);

 private:
  void fail_type(std::string_view key, std::string_view expected);

  const nlohmann::ordered_json& object_;
  std::string path_;
  std::optional<ApiError> error_;
};

// "integer", "string", ... as a JSON user would say it (`true` is a boolean, 3 an integer).
std::string json_type_name(const nlohmann::ordered_json& value);

// A short, length-limited rendering of a value for error messages.
std::string json_preview(const nlohmann::ordered_json& value);
// A string cut to a length fit for an error message.
std::string text_preview(std::string_view text);

}  // namespace hearth::server
