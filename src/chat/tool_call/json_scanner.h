// Incremental validator for one JSON value (RFC 8259), fed a byte at a time. It knows when the
// value ends without buffering it, so tool-call arguments can be streamed as the model writes
// them while every fragment is a prefix of valid JSON. No recursion; nesting is capped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hearth {

class JsonScanner {
 public:
  enum class Result {
    kNeedMore,     // the byte belongs to the value; not finished
    kDone,         // the byte completed the value
    kEndedBefore,  // the value (a number) ended just before this byte, which is not part of it
    kError,        // the byte cannot continue valid JSON
  };

  static constexpr size_t kMaxDepth = 256;

  // Leading whitespace is accepted and belongs to the value's text.
  Result feed(char c);
  bool done() const { return state_ == State::kDone; }
  void reset();

 private:
  enum class State : uint8_t {
    kValue,
    kArrayValueOrEnd,
    kObjectKeyOrEnd,
    kObjectKey,
    kColon,
    kCommaOrEnd,
    kString,
    kEscape,
    kUnicode,
    kNumMinus,
    kNumZero,
    kNumInt,
    kNumDot,
    kNumFrac,
    kNumExp,
    kNumExpSign,
    kNumExpDigits,
    kLiteral,
    kDone,
    kError,
  };

  Result value_finished();
  Result start_value(char c);
  Result error();

  State state_ = State::kValue;
  std::vector<char> stack_;  // '{' or '['
  bool string_is_key_ = false;
  uint8_t unicode_left_ = 0;
  const char* literal_ = nullptr;  // remaining bytes of true/false/null
};

}  // namespace hearth
