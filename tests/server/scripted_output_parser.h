// A stand-in OutputParser for tests (until the real reasoning and tool-call parsers are wired
// in): each fed piece is classified by a prefix, so a FakeEngine script spells out exactly
// which deltas the server must stream.
//   "think:TEXT"      -> reasoning_content TEXT
//   "call:NAME"       -> a new tool call named NAME
//   "args:TEXT"       -> TEXT appended to the current call's arguments
//   "hold:TEXT"       -> TEXT held back until finish() (then content), like a partial marker
//   anything else     -> content
#pragma once

#include <memory>

#include "server/openai/output_parser.h"

namespace hearth::test {

class ScriptedOutputParser final : public server::OutputParser {
 public:
  std::vector<server::OutputDelta> feed(std::string_view text) override;
  std::vector<server::OutputDelta> finish() override;

 private:
  int calls_ = 0;
  std::string held_;
};

server::OutputParserFactory scripted_output_parser_factory();

}  // namespace hearth::test
