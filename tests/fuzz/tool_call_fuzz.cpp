// Fuzzes the tool-call and reasoning parsers with arbitrary text split into arbitrary pieces.
// Invariants: no crash; the deltas aggregate to the parser's message; the result does not depend
// on the split; with calls held (non-streaming), output without calls is the input verbatim
// (no text is lost) and every call's arguments are a JSON object.
// Input: byte 0 picks the parser and mode, byte 1 seeds the split, the rest is the text.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "chat/reasoning/reasoning_parser.h"
#include "chat/tool_call/tool_call_registry.h"

namespace {

using hearth::MessageDelta;
using hearth::ParsedMessage;

void check(bool condition) {
  if (!condition) std::abort();
}

std::vector<std::string_view> split(std::string_view text, uint32_t seed) {
  std::vector<std::string_view> pieces;
  size_t at = 0;
  while (at < text.size()) {
    seed = seed * 1103515245u + 12345u;
    const size_t len = 1 + (seed >> 16) % 7;
    pieces.push_back(text.substr(at, len));
    at += len;
  }
  return pieces;
}

ParsedMessage parse(std::string_view parser, bool stream,
                    const std::vector<std::string_view>& pieces) {
  hearth::ToolCallParserOptions options;
  options.stream_arguments = stream;
  options.id_seed = 7;
  options.tools = {{"get_weather", nlohmann::json::parse(R"({"properties": {"days": {"type":
      "integer"}, "ok": {"type": "boolean"}, "o": {"type": "object"}}})")},
                   {"a", nullptr},
                   {"b", nullptr}};
  auto made = hearth::make_tool_call_parser(parser, options);
  check(made.ok());
  std::vector<MessageDelta> deltas;
  for (std::string_view piece : pieces) (*made)->feed(piece, deltas);
  (*made)->finish(deltas);
  ParsedMessage aggregated;
  for (const MessageDelta& d : deltas) {
    if (!d.tool_call) {
      aggregated.content += d.content;
    } else if (d.tool_call->is_header()) {
      check(d.tool_call->index == static_cast<int32_t>(aggregated.tool_calls.size()));
      aggregated.tool_calls.push_back({d.tool_call->id, d.tool_call->name, ""});
    } else {
      check(static_cast<size_t>(d.tool_call->index) < aggregated.tool_calls.size());
      aggregated.tool_calls[static_cast<size_t>(d.tool_call->index)].arguments +=
          d.tool_call->arguments;
    }
  }
  const ParsedMessage& message = (*made)->message();
  check(aggregated.content == message.content);
  check(aggregated.tool_calls.size() == message.tool_calls.size());
  for (size_t i = 0; i < message.tool_calls.size(); ++i) {
    check(aggregated.tool_calls[i].arguments == message.tool_calls[i].arguments);
  }
  return message;
}

bool same(const ParsedMessage& a, const ParsedMessage& b) {
  if (a.content != b.content || a.tool_calls.size() != b.tool_calls.size()) return false;
  for (size_t i = 0; i < a.tool_calls.size(); ++i) {
    if (a.tool_calls[i].name != b.tool_calls[i].name ||
        a.tool_calls[i].arguments != b.tool_calls[i].arguments) {
      return false;
    }
  }
  return true;
}

void fuzz_reasoning(std::string_view text, uint8_t mode, uint32_t seed) {
  hearth::ReasoningOptions options;
  options.start = static_cast<hearth::ReasoningStart>(mode % 3);
  std::string whole[2];
  std::string pieces[2];
  for (int run = 0; run < 2; ++run) {
    auto parser = hearth::ReasoningParser::create(options);
    check(parser.ok());
    hearth::ReasoningDelta delta;
    if (run == 0) {
      parser->feed(text, delta);
    } else {
      for (std::string_view piece : split(text, seed)) parser->feed(piece, delta);
    }
    parser->finish(delta);
    whole[run] = delta.reasoning;
    pieces[run] = delta.content;
  }
  check(whole[0] == whole[1] && pieces[0] == pieces[1]);
  if (options.start == hearth::ReasoningStart::kDisabled) check(pieces[0] == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  if (size < 2 || size > 4096) return 0;
  const uint8_t selector = data[0];
  const uint32_t seed = data[1];
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  const auto names = hearth::tool_call_parser_names();
  const std::string_view parser = names[selector % names.size()];
  const bool stream = (selector / names.size()) % 2 == 1;

  const ParsedMessage whole = parse(parser, stream, {text});
  check(same(whole, parse(parser, stream, split(text, seed))));
  if (!stream) {
    if (whole.tool_calls.empty()) check(whole.content == text);
    bool ascii = true;
    for (char c : text) ascii &= static_cast<unsigned char>(c) < 0x80;
    for (const auto& call : whole.tool_calls) {
      if (!ascii) break;
      const auto args = nlohmann::json::parse(call.arguments, nullptr, false);
      check(!args.is_discarded() && args.is_object());
    }
  }
  fuzz_reasoning(text, selector, seed);
  return 0;
}
