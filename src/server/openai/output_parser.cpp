#include "server/openai/output_parser.h"

#include <spdlog/spdlog.h>

#if HEARTH_HAVE_CHAT_PARSERS
#include "chat/tool_call/tool_call_registry.h"
#include "server/openai/chat_output_parser.h"
#endif

namespace hearth::server {

std::vector<OutputDelta> PassThroughOutputParser::feed(std::string_view text) {
  if (text.empty()) return {};
  OutputDelta delta;
  delta.kind = OutputDelta::Kind::kContent;
  delta.text = std::string(text);
  return {std::move(delta)};
}

std::unique_ptr<OutputParser> make_default_output_parser(const OutputParserConfig& config) {
#if HEARTH_HAVE_CHAT_PARSERS
  auto parser = ChatOutputParser::create(config);
  if (parser.ok()) return std::move(*parser);
  // Names are checked at startup, so this is a bug: answer with plain content, not an error.
  spdlog::error("output parser: {}; returning plain content", parser.status().to_string());
#else
  (void)config;
#endif
  return std::make_unique<PassThroughOutputParser>();
}

Status check_tool_call_parser_name(const std::string& name) {
  if (name.empty()) return Status();
#if HEARTH_HAVE_CHAT_PARSERS
  auto parser = make_tool_call_parser(name, {});
  if (!parser.ok()) return parser.status();
  return Status();
#else
  return unsupported("--tool-call-parser: this build has no tool-call parsers");
#endif
}

}  // namespace hearth::server
