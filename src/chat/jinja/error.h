// The error type thrown inside the Jinja engine. It never leaves the engine: Template::parse and
// Template::render catch it and return a hearth::Status, so callers only see errors as values.
// Throwing keeps the recursive evaluator readable (every operation can fail).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "hearth/status.h"

namespace hearth::jinja {

// A position in the template source; line and column are 1-based, column counts code points.
struct SourceLoc {
  uint32_t line = 0;
  uint32_t column = 0;
  bool known() const { return line != 0; }
};

enum class ErrorKind : uint8_t {
  kSyntax,     // the template does not parse
  kRuntime,    // an operation failed while rendering (Python would raise TypeError, ...)
  kUndefined,  // an undefined value was used in a way that needs a value
  kSecurity,   // the sandbox refused an operation (unsafe attribute, mutation)
  kLimit,      // a sandbox limit was hit (time, output size, loop iterations, depth)
  kRaised,     // the template called raise_exception(message)
};

class JinjaError {
 public:
  JinjaError(ErrorKind kind, std::string message, SourceLoc loc = {})
      : kind_(kind), message_(std::move(message)), loc_(loc) {}

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  SourceLoc loc() const { return loc_; }
  void set_loc_if_unknown(SourceLoc loc) {
    if (!loc_.known()) loc_ = loc;
  }
  // "template error at line 3, column 7: 'x' is undefined" (raise_exception: the message only).
  Status to_status() const;

 private:
  ErrorKind kind_;
  std::string message_;
  SourceLoc loc_;
};

// Concatenates message parts (avoids a GCC 12 -Wrestrict false positive on "'" + string).
inline std::string cat(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (const auto part : parts) size += part.size();
  std::string out;
  out.reserve(size);
  for (const auto part : parts) out.append(part);
  return out;
}

[[noreturn]] inline void throw_runtime(std::string message) {
  throw JinjaError(ErrorKind::kRuntime, std::move(message));
}
[[noreturn]] inline void throw_limit(std::string message) {
  throw JinjaError(ErrorKind::kLimit, std::move(message));
}

}  // namespace hearth::jinja
