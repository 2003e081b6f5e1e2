#include "chat/tool_call/qwen3_coder_parser.h"

#include "chat/tool_call/parameter_conversion.h"
#include "core/text_match.h"

namespace hearth {
namespace {
constexpr std::string_view kToolCallOpen = "<tool_call>";
constexpr std::string_view kToolCallClose = "</tool_call>";
constexpr std::string_view kFunctionOpen = "<function=";
constexpr std::string_view kFunctionClose = "</function>";
constexpr std::string_view kParameterOpen = "<parameter=";
constexpr std::string_view kParameterClose = "</parameter>";
constexpr size_t kMaxName = 256;

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

bool Qwen3CoderParser::fail(std::string_view why) {
  fail_block(why);
  state_ = State::kText;
  return true;
}

bool Qwen3CoderParser::step(bool at_end) {
  switch (state_) {
    case State::kText: {
      const std::string_view markers[] = {kToolCallOpen};
      if (scan_to_marker(markers, at_end) < 0) return false;
      begin_block();
      consume(kToolCallOpen.size());
      state_ = State::kFunctionOpen;
      return true;
    }
    case State::kFunctionOpen:
      switch (expect_literal(kFunctionOpen, at_end)) {
        case LiteralMatch::kNeedMore:
          return false;
        case LiteralMatch::kMismatch:
          return fail("expected <function=NAME> after <tool_call>");
        case LiteralMatch::kMatched:
          name_.clear();
          state_ = State::kFunctionName;
          return true;
      }
      return false;
    case State::kFunctionName:
    case State::kParamName:
      return step_name(at_end);
    case State::kParamOrEnd: {
      const std::string_view options[] = {kParameterOpen, kFunctionClose};
      const int r = expect_one_of(options, at_end);
      if (r == -2) return false;
      if (r == -1) return fail("expected <parameter=NAME> or </function>");
      if (r == 0) {
        name_.clear();
        state_ = State::kParamName;
      } else {
        append_arguments("}");
        end_call();
        state_ = State::kClose;
      }
      return true;
    }
    case State::kParamValue:
      return step_value(at_end);
    case State::kClose:
      switch (expect_literal(kToolCallClose, at_end)) {
        case LiteralMatch::kNeedMore:
          return false;
        case LiteralMatch::kMatched:
        case LiteralMatch::kMismatch:  // tolerated: the call itself was complete
          end_block();
          state_ = State::kText;
          return true;
      }
      return false;
  }
  return false;
}

bool Qwen3CoderParser::step_name(bool at_end) {
  while (!input().empty()) {
    const char c = input()[0];
    if (c == '<' || c == '\n' || name_.size() >= kMaxName) {
      return fail("a <function=..> or <parameter=..> name is not closed by '>'");
    }
    consume(1);
    if (c != '>') {
      name_ += c;
      continue;
    }
    const std::string name(trim(name_));
    if (name.empty()) return fail("an empty function or parameter name");
    if (state_ == State::kFunctionName) {
      if (!tool_allowed(name)) {
        return fail("the model called \"" + name + "\", which is not among the tools");
      }
      tool_ = find_tool(name);
      commit_call(name);
      append_arguments("{");
      params_ = 0;
      state_ = State::kParamOrEnd;
      return true;
    }
    types_ = tool_ ? parameter_types(tool_->parameters, name) : std::vector<std::string>{};
    string_value_ = is_string_parameter(types_);
    std::string key = params_++ > 0 ? ", \"" : "\"";
    key += escape_json_string_body(name);
    key += string_value_ ? "\": \"" : "\": ";
    append_arguments(key);
    value_.clear();
    value_started_ = false;
    state_ = State::kParamValue;
    return true;
  }
  if (at_end) return fail("the output ended inside a tag name");
  return false;
}

bool Qwen3CoderParser::step_value(bool at_end) {
  // The newline right after <parameter=..> is not part of the value.
  if (!value_started_ && !input().empty()) {
    if (input()[0] == '\n') consume(1);
    value_started_ = true;
  }
  const std::string_view in = input();
  const size_t close = in.find(kParameterClose);
  if (close == std::string_view::npos && at_end) {
    return fail("the output ended inside a parameter value");
  }
  size_t take = close;
  if (close == std::string_view::npos) {
    // Hold a possible partial </parameter> and a newline that may turn out to be the last.
    take = in.size() - partial_marker_suffix(in, kParameterClose);
    if (take > 0 && in[take - 1] == '\n') --take;
  }
  std::string_view text = in.substr(0, take);
  if (close != std::string_view::npos && !text.empty() && text.back() == '\n') {
    text.remove_suffix(1);  // the newline before </parameter>
  }
  if (string_value_) {
    append_arguments(escape_json_string_body(text));
  } else {
    value_.append(text);
  }
  if (close == std::string_view::npos) {
    consume(take);
    return false;
  }
  consume(close + kParameterClose.size());
  append_arguments(string_value_ ? std::string("\"") : convert_parameter(value_, types_));
  state_ = State::kParamOrEnd;
  return true;
}

}  // namespace hearth
