// What the tool-call parsers produce: OpenAI-shaped tool calls and streaming deltas, independent
// of HTTP. The server maps them onto chat.completion(.chunk) JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth {

// A function the request offered (OpenAI tools[i].function).
struct ToolSpec {
  std::string name;
  nlohmann::json parameters;  // its JSON schema; may be null
};

struct ToolCall {
  std::string id;  // call_<24 alphanumerics>
  std::string name;
  std::string arguments;  // JSON object text
};

// One tool call's streaming delta. The first delta of a call carries index, id and name (and
// empty arguments); later ones carry argument text fragments only.
struct ToolCallDelta {
  int32_t index = 0;
  std::string id;
  std::string name;
  std::string arguments;
  bool is_header() const { return !id.empty(); }
};

// One step of the stream: content text, or a tool call delta (never both).
struct MessageDelta {
  std::string content;
  std::optional<ToolCallDelta> tool_call;
};

// The whole message: content (text outside tool calls) and the calls, in order.
struct ParsedMessage {
  std::string content;
  std::vector<ToolCall> tool_calls;
};

struct ToolCallParserOptions {
  // The request's tools. When non-empty, a call to a function not listed is malformed.
  std::vector<ToolSpec> tools;
  // true (streaming): a call's first delta goes out as soon as its name is known and argument
  // fragments follow as they are generated. false (non-streaming): a call is held until it is
  // complete, so a call that turns out malformed is returned as text in full.
  bool stream_arguments = true;
  // Seeds the call id generator (tests); nullopt = random.
  std::optional<uint64_t> id_seed;
};

}  // namespace hearth
