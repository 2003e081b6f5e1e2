#include "chat/tool_call/llama3_json_parser.h"

#include "core/text_match.h"

namespace hearth {
namespace {
constexpr std::string_view kPythonTag = "<|python_tag|>";

JsonCallKeys llama_keys() {
  JsonCallKeys keys;
  keys.arguments = {"parameters", "arguments"};
  keys.ignored = {"type"};
  keys.allow_other_keys = false;
  return keys;
}

size_t leading_space(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && is_ascii_space(text[i])) ++i;
  return i;
}

}  // namespace

Llama3JsonParser::Llama3JsonParser(ToolCallParserOptions options)
    : ToolCallParser(std::move(options)), reader_(llama_keys()) {}

bool Llama3JsonParser::step(bool at_end) {
  switch (state_) {
    case State::kStart: {
      const size_t space = leading_space(input());
      if (space == input().size()) {
        if (!at_end) return false;
        state_ = State::kText;
        return true;
      }
      emit_text(space);
      if (input()[0] == '{') {
        begin_block();
        reader_.reset();
        state_ = State::kObject;
      } else {
        state_ = State::kText;
      }
      return true;
    }
    case State::kText: {
      const std::string_view markers[] = {kPythonTag};
      if (scan_to_marker(markers, at_end) < 0) return false;
      begin_block();
      consume(kPythonTag.size());
      reader_.reset();
      state_ = State::kObject;
      return true;
    }
    case State::kObject:
      switch (feed_json_call(reader_)) {
        case CallProgress::kNeedMore:
          return false;
        case CallProgress::kFailed:
          state_ = State::kText;
          return true;
        case CallProgress::kDone:
          end_block();
          state_ = State::kAfterCall;
          return true;
      }
      return false;
    case State::kAfterCall: {
      const size_t space = leading_space(input());
      if (space == input().size() && !at_end) return false;
      emit_text(space);
      if (input().empty()) return false;
      const char c = input()[0];
      if (c == ';' || c == '{') {
        begin_block();
        if (c == ';') consume(1);
        reader_.reset();
        state_ = State::kObject;
      } else {
        state_ = State::kText;
      }
      return true;
    }
  }
  return false;
}

}  // namespace hearth
