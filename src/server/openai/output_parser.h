// The seam between generated text and the OpenAI message fields: decoded text pieces go in,
// content / reasoning_content / tool-call deltas come out, in order. The reasoning parser
// (src/chat/reasoning) and the tool-call parsers (src/chat/tool_call) plug in behind it; the
// server only sees OutputDelta.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth::server {

struct OutputDelta {
  enum class Kind {
    kContent,        // text: visible answer text
    kReasoning,      // text: reasoning_content
    kToolCallStart,  // a new call: tool_index, tool_call_id (may be empty), tool_name
    kToolCallArgs,   // text: a fragment of call `tool_index`'s JSON arguments
  };
  Kind kind = Kind::kContent;
  std::string text;
  int tool_index = 0;  // 0-based, in order of appearance
  std::string tool_call_id;
  std::string tool_name;
};

class OutputParser {
 public:
  virtual ~OutputParser() = default;
  // The next decoded piece (valid UTF-8). Text that might still turn out to be a marker
  // ("</thi") is held back until it is decided.
  virtual std::vector<OutputDelta> feed(std::string_view text) = 0;
  // End of generation: releases everything held back (an unfinished marker as content).
  virtual std::vector<OutputDelta> finish() = 0;
};

// What a parser needs to know about one request.
struct OutputParserConfig {
  std::string tool_call_parser;            // --tool-call-parser; empty: detect from the template
  std::string chat_template_source;        // for marker detection
  nlohmann::ordered_json tools;            // tools offered (null: none, tool calls not parsed)
  nlohmann::ordered_json template_kwargs;  // enable_thinking, ...
  std::string rendered_prompt;             // a prompt ending in "<think>" starts inside reasoning
  bool streaming = false;  // streamed calls are sent as they are read; whole ones when complete
};

using OutputParserFactory =
    std::function<std::unique_ptr<OutputParser>(const OutputParserConfig& config)>;

// Everything is content.
class PassThroughOutputParser final : public OutputParser {
 public:
  std::vector<OutputDelta> feed(std::string_view text) override;
  std::vector<OutputDelta> finish() override { return {}; }
};

// The factory the server uses by default: ChatOutputParser (reasoning, then tool calls) when
// the build has src/chat/reasoning and src/chat/tool_call, else PassThroughOutputParser.
std::unique_ptr<OutputParser> make_default_output_parser(const OutputParserConfig& config);

// Checks a --tool-call-parser name at startup (InvalidArgument listing the known ones).
Status check_tool_call_parser_name(const std::string& name);

}  // namespace hearth::server
