// Errors as values at module edges: Status for "did it work", Expected<T> for "a T or why not".
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace hearth {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller passed something malformed (a request, a flag)
  kNotFound,            // a file, key or tensor that should exist does not
  kIoError,             // the OS refused (open, read, mmap)
  kCorruptData,         // a file's bytes are not what its format promises
  kUnsupported,         // well-formed, but hearth does not implement it (yet)
  kOutOfRange,          // a value outside what is allowed (context too long, limit hit)
  kResourceExhausted,   // memory, queue or a sandbox limit
  kFailedPrecondition,  // called in the wrong state
  kCancelled,
  kInternal,
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corrupt data: <message>", for logs and CLI output.
  std::string to_string() const;

  // Prefix the message with where it happened ("reading model.gguf: ...").
  Status with_context(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string msg) {
  return {StatusCode::kInvalidArgument, std::move(msg)};
}
inline Status not_found(std::string msg) {
  return {StatusCode::kNotFound, std::move(msg)};
}
inline Status io_error(std::string msg) {
  return {StatusCode::kIoError, std::move(msg)};
}
inline Status corrupt_data(std::string msg) {
  return {StatusCode::kCorruptData, std::move(msg)};
}
inline Status unsupported(std::string msg) {
  return {StatusCode::kUnsupported, std::move(msg)};
}
inline Status out_of_range(std::string msg) {
  return {StatusCode::kOutOfRange, std::move(msg)};
}
inline Status resource_exhausted(std::string msg) {
  return {StatusCode::kResourceExhausted, std::move(msg)};
}
inline Status failed_precondition(std::string msg) {
  return {StatusCode::kFailedPrecondition, std::move(msg)};
}
inline Status cancelled(std::string msg) {
  return {StatusCode::kCancelled, std::move(msg)};
}
inline Status internal_error(std::string msg) {
  return {StatusCode::kInternal, std::move(msg)};
}

// A T, or the Status saying why there is none. Never holds an ok Status.
template <typename T>
class [[nodiscard]] Expected {
  static_assert(!std::is_same_v<T, Status>, "use Status directly");

 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}        // NOLINT: implicit
  Expected(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT: implicit
    assert(!std::get<1>(v_).ok() && "Expected built from an ok Status");
  }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

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
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Status& status() const& {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  Status status() && { return ok() ? Status() : std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace hearth

#define HEARTH_CONCAT_INNER_(a, b) a##b
#define HEARTH_CONCAT_(a, b) HEARTH_CONCAT_INNER_(a, b)

// Return the Status from the enclosing function if `expr` (a Status) is not ok.
#define HEARTH_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::hearth::Status hearth_status_ = (expr);        \
    if (!hearth_status_.ok()) return hearth_status_; \
  } while (0)

// `lhs = value of expr` (an Expected), or return its Status from the enclosing function.
#define HEARTH_ASSIGN_OR_RETURN(lhs, expr) \
  HEARTH_ASSIGN_OR_RETURN_IMPL_(HEARTH_CONCAT_(hearth_expected_, __LINE__), lhs, expr)
#define HEARTH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()
