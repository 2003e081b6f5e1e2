#include "chat/tool_call/mistral_parser.h"

#include "core/text_match.h"

namespace hearth {
namespace {
constexpr std::string_view kToolCalls = "[TOOL_CALLS]";
constexpr std::string_view kArgs = "[ARGS]";
constexpr std::string_view kCallId = "[CALL_ID]";
constexpr size_t kMaxName = 256;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

}  // namespace

bool MistralParser::step(bool at_end) {
  switch (state_) {
    case State::kText: {
      const std::string_view markers[] = {kToolCalls};
      if (scan_to_marker(markers, at_end) < 0) return false;
      begin_block();
      consume(kToolCalls.size());
      state_ = State::kAfterMarker;
      return true;
    }
    case State::kAfterMarker: {
      size_t space = 0;
      while (space < input().size() && is_ascii_space(input()[space])) ++space;
      if (space == input().size() && !at_end) return false;
      consume(space);
      if (!input().empty() && input()[0] == '[') {
        consume(1);
        reader_.reset();
        state_ = State::kArrayItem;
      } else {
        name_.clear();
        state_ = State::kName;
      }
      return true;
    }
    case State::kArrayItem:
      switch (feed_json_call(reader_)) {
        case CallProgress::kNeedMore:
          return false;
        case CallProgress::kFailed:
          state_ = State::kText;
          return true;
        case CallProgress::kDone:
          state_ = State::kArraySeparator;
          return true;
      }
      return false;
    case State::kArraySeparator: {
      const std::string_view separators[] = {",", "]"};
      const int r = expect_one_of(separators, at_end);
      if (r == -2) return false;
      if (r == 0) {
        reader_.reset();
        state_ = State::kArrayItem;
      } else if (r == 1) {
        end_block();
        state_ = State::kText;
      } else {
        fail_block("expected ',' or ']' after a call in the [TOOL_CALLS] array");
        state_ = State::kText;
      }
      return true;
    }
    case State::kName:
    case State::kCallId:
      return step_name(at_end);
    case State::kArgs:
      return step_args(at_end);
  }
  return false;
}

bool MistralParser::step_name(bool at_end) {
  while (!input().empty()) {
    const std::string_view in = input();
    if (in[0] == '[') {
      const bool args = in.substr(0, kArgs.size()) == kArgs;
      const bool call_id = state_ == State::kName && in.substr(0, kCallId.size()) == kCallId;
      if (!args && !call_id) {
        const bool partial = kArgs.substr(0, in.size()) == in ||
                             (state_ == State::kName && kCallId.substr(0, in.size()) == in);
        if (partial && !at_end) return false;
        fail_block("expected [ARGS] after the function name");
        state_ = State::kText;
        return true;
      }
      if (name_.empty()) {
        fail_block("[TOOL_CALLS] is not followed by a function name");
        state_ = State::kText;
        return true;
      }
      consume(args ? kArgs.size() : kCallId.size());
      if (call_id) {
        state_ = State::kCallId;
        continue;
      }
    } else if (in[0] == '{' && state_ == State::kName && !name_.empty()) {
      // [ARGS] left out: the arguments object follows the name directly.
    } else if (state_ == State::kCallId && (is_name_char(in[0]))) {
      consume(1);  // the model's own call id: ignored, ours are generated
      continue;
    } else if (state_ == State::kName && is_name_char(in[0]) && name_.size() < kMaxName) {
      name_ += in[0];
      consume(1);
      continue;
    } else {
      fail_block("invalid character in a [TOOL_CALLS] function name");
      state_ = State::kText;
      return true;
    }
    if (!tool_allowed(name_)) {
      fail_block("the model called \"" + name_ + "\", which is not among the tools");
      state_ = State::kText;
      return true;
    }
    commit_call(name_);
    scanner_.reset();
    object_started_ = false;
    state_ = State::kArgs;
    return true;
  }
  if (at_end) {
    fail_block("the output ended inside a [TOOL_CALLS] function name");
    state_ = State::kText;
    return true;
  }
  return false;
}

bool MistralParser::step_args(bool at_end) {
  // The arguments must be an object; whitespace before its '{' is dropped.
  while (!object_started_ && !input().empty()) {
    if (is_ascii_space(input()[0])) {
      consume(1);
      continue;
    }
    if (input()[0] != '{') {
      fail_block("the [ARGS] are not a JSON object");
      state_ = State::kText;
      return true;
    }
    object_started_ = true;
  }
  size_t n = 0;
  const std::string_view in = input();
  while (n < in.size()) {
    const JsonScanner::Result r = scanner_.feed(in[n]);
    if (r == JsonScanner::Result::kError || r == JsonScanner::Result::kEndedBefore) {
      append_arguments(in.substr(0, n));
      consume(n);
      fail_block("the [ARGS] are not a valid JSON object");
      state_ = State::kText;
      return true;
    }
    ++n;
    if (r == JsonScanner::Result::kDone) {
      append_arguments(in.substr(0, n));
      consume(n);
      end_call();
      end_block();
      state_ = State::kText;
      return true;
    }
  }
  append_arguments(in.substr(0, n));
  consume(n);
  if (at_end) {
    fail_block("the output ended inside the [ARGS] object");
    state_ = State::kText;
    return true;
  }
  return false;
}

}  // namespace hearth
