#include "scripted_output_parser.h"

namespace hearth::test {

using server::OutputDelta;

std::vector<OutputDelta> ScriptedOutputParser::feed(std::string_view text) {
  auto starts = [&](std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; };
  OutputDelta delta;
  if (starts("think:")) {
    delta.kind = OutputDelta::Kind::kReasoning;
    delta.text = std::string(text.substr(6));
  } else if (starts("call:")) {
    delta.kind = OutputDelta::Kind::kToolCallStart;
    delta.tool_index = calls_++;
    delta.tool_name = std::string(text.substr(5));
  } else if (starts("args:")) {
    delta.kind = OutputDelta::Kind::kToolCallArgs;
    delta.tool_index = calls_ - 1;
    delta.text = std::string(text.substr(5));
  } else if (starts("hold:")) {
    held_ += text.substr(5);
    return {};
  } else {
    delta.kind = OutputDelta::Kind::kContent;
    delta.text = std::string(text);
  }
  return {std::move(delta)};
}

std::vector<OutputDelta> ScriptedOutputParser::finish() {
  if (held_.empty()) return {};
  OutputDelta delta;
  delta.text = std::move(held_);
  held_.clear();
  return {std::move(delta)};
}

server::OutputParserFactory scripted_output_parser_factory() {
  return [](const server::OutputParserConfig&) { return std::make_unique<ScriptedOutputParser>(); };
}

}  // namespace hearth::test
