#include "chat/tool_call/json_scanner.h"

#include "core/text_match.h"

namespace hearth {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

void JsonScanner::reset() {
  state_ = State::kValue;
  stack_.clear();
  string_is_key_ = false;
  unicode_left_ = 0;
  literal_ = nullptr;
}

JsonScanner::Result JsonScanner::error() {
  state_ = State::kError;
  return Result::kError;
}

JsonScanner::Result JsonScanner::value_finished() {
  if (stack_.empty()) {
    state_ = State::kDone;
    return Result::kDone;
  }
  state_ = State::kCommaOrEnd;
  return Result::kNeedMore;
}

JsonScanner::Result JsonScanner::start_value(char c) {
  switch (c) {
    case '{':
    case '[':
      if (stack_.size() >= kMaxDepth) return error();
      stack_.push_back(c);
      state_ = c == '{' ? State::kObjectKeyOrEnd : State::kArrayValueOrEnd;
      return Result::kNeedMore;
    case '"':
      string_is_key_ = false;
      state_ = State::kString;
      return Result::kNeedMore;
    case '-':
      state_ = State::kNumMinus;
      return Result::kNeedMore;
    case 't':
      literal_ = "rue";
      state_ = State::kLiteral;
      return Result::kNeedMore;
    case 'f':
      literal_ = "alse";
      state_ = State::kLiteral;
      return Result::kNeedMore;
    case 'n':
      literal_ = "ull";
      state_ = State::kLiteral;
      return Result::kNeedMore;
    default:
      if (c == '0') {
        state_ = State::kNumZero;
        return Result::kNeedMore;
      }
      if (is_digit(c)) {
        state_ = State::kNumInt;
        return Result::kNeedMore;
      }
      return error();
  }
}

JsonScanner::Result JsonScanner::feed(char c) {
  switch (state_) {
    case State::kValue:
      if (is_ascii_space(c)) return Result::kNeedMore;
      return start_value(c);
    case State::kArrayValueOrEnd:
      if (is_ascii_space(c)) return Result::kNeedMore;
      if (c == ']') {
        stack_.pop_back();
        return value_finished();
      }
      return start_value(c);
    case State::kObjectKeyOrEnd:
    case State::kObjectKey:
      if (is_ascii_space(c)) return Result::kNeedMore;
      if (c == '}' && state_ == State::kObjectKeyOrEnd) {
        stack_.pop_back();
        return value_finished();
      }
      if (c != '"') return error();
      string_is_key_ = true;
      state_ = State::kString;
      return Result::kNeedMore;
    case State::kColon:
      if (is_ascii_space(c)) return Result::kNeedMore;
      if (c != ':') return error();
      state_ = State::kValue;
      return Result::kNeedMore;
    case State::kCommaOrEnd:
      if (is_ascii_space(c)) return Result::kNeedMore;
      if (c == ',') {
        state_ = stack_.back() == '{' ? State::kObjectKey : State::kValue;
        return Result::kNeedMore;
      }
      if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) {
        stack_.pop_back();
        return value_finished();
      }
      return error();
    case State::kString:
      if (c == '"') {
        if (string_is_key_) {
          state_ = State::kColon;
          return Result::kNeedMore;
        }
        return value_finished();
      }
      if (c == '\\') {
        state_ = State::kEscape;
        return Result::kNeedMore;
      }
      if (static_cast<unsigned char>(c) < 0x20) return error();
      return Result::kNeedMore;
    case State::kEscape:
      switch (c) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          state_ = State::kString;
          return Result::kNeedMore;
        case 'u':
          unicode_left_ = 4;
          state_ = State::kUnicode;
          return Result::kNeedMore;
        default:
          return error();
      }
    case State::kUnicode:
      if (!is_hex(c)) return error();
      if (--unicode_left_ == 0) state_ = State::kString;
      return Result::kNeedMore;
    case State::kNumMinus:
      if (c == '0') {
        state_ = State::kNumZero;
        return Result::kNeedMore;
      }
      if (is_digit(c)) {
        state_ = State::kNumInt;
        return Result::kNeedMore;
      }
      return error();
    case State::kNumZero:
    case State::kNumInt:
    case State::kNumFrac:
    case State::kNumExpDigits: {
      if (is_digit(c) && state_ != State::kNumZero) return Result::kNeedMore;
      if (c == '.' && (state_ == State::kNumZero || state_ == State::kNumInt)) {
        state_ = State::kNumDot;
        return Result::kNeedMore;
      }
      if ((c == 'e' || c == 'E') && state_ != State::kNumExpDigits) {
        state_ = State::kNumExp;
        return Result::kNeedMore;
      }
      // The number ended before c; c continues the enclosing structure (if any).
      if (stack_.empty()) {
        state_ = State::kDone;
        return Result::kEndedBefore;
      }
      state_ = State::kCommaOrEnd;
      return feed(c);
    }
    case State::kNumDot:
      if (!is_digit(c)) return error();
      state_ = State::kNumFrac;
      return Result::kNeedMore;
    case State::kNumExp:
      if (c == '+' || c == '-') {
        state_ = State::kNumExpSign;
        return Result::kNeedMore;
      }
      [[fallthrough]];
    case State::kNumExpSign:
      if (!is_digit(c)) return error();
      state_ = State::kNumExpDigits;
      return Result::kNeedMore;
    case State::kLiteral:
      if (c != *literal_) return error();
      if (*++literal_ == '\0') return value_finished();
      return Result::kNeedMore;
    case State::kDone:
    case State::kError:
      return error();
  }
  return error();
}

}  // namespace hearth
