// Runs a tool-call parser over text split into pieces, collecting deltas, and checks that the
// deltas aggregate to the parser's message. Shared by the tool-call tests.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

#include "chat/tool_call/tool_call_registry.h"

namespace hearth::test {

// Malformed-output warnings are expected by the tests; keep their output readable.
inline const bool kQuietToolCallLogs = (spdlog::set_level(spdlog::level::err), true);

struct ParseRun {
  ParsedMessage message;             // aggregated from the deltas by the test
  std::vector<MessageDelta> deltas;  // as emitted
};

inline ParsedMessage aggregate(const std::vector<MessageDelta>& deltas) {
  ParsedMessage m;
  for (const MessageDelta& d : deltas) {
    if (!d.tool_call) {
      m.content += d.content;
      continue;
    }
    const ToolCallDelta& t = *d.tool_call;
    if (t.is_header()) {
      EXPECT_EQ(t.index, static_cast<int32_t>(m.tool_calls.size())) << "call index out of order";
      EXPECT_FALSE(t.name.empty());
      EXPECT_EQ(t.id.rfind("call_", 0), 0u);
      EXPECT_EQ(t.id.size(), 29u);
      m.tool_calls.push_back({t.id, t.name, t.arguments});
    } else {
      EXPECT_TRUE(t.id.empty() && t.name.empty());
      EXPECT_LT(static_cast<size_t>(t.index), m.tool_calls.size()) << "arguments before header";
      if (static_cast<size_t>(t.index) < m.tool_calls.size()) {
        m.tool_calls[static_cast<size_t>(t.index)].arguments += t.arguments;
      }
    }
  }
  return m;
}

inline ParseRun run_parser(const std::string& parser, const std::vector<std::string>& pieces,
                           ToolCallParserOptions options) {
  options.id_seed = 99;
  auto made = make_tool_call_parser(parser, std::move(options));
  EXPECT_TRUE(made.ok()) << made.status().to_string();
  std::unique_ptr<ToolCallParser> p = std::move(made).value();
  ParseRun run;
  for (const std::string& piece : pieces) p->feed(piece, run.deltas);
  p->finish(run.deltas);
  run.message = aggregate(run.deltas);
  EXPECT_EQ(run.message.content, p->message().content);
  EXPECT_EQ(run.message.tool_calls.size(), p->message().tool_calls.size());
  return run;
}

// The whole text, byte by byte, and every 2-way split; every 3-way split for short texts.
inline std::vector<std::vector<std::string>> all_splits(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  out.push_back(bytes);
  for (size_t a = 1; a < text.size(); ++a) {
    out.push_back({text.substr(0, a), text.substr(a)});
    if (text.size() <= 48) {
      for (size_t b = a + 1; b < text.size(); ++b) {
        out.push_back({text.substr(0, a), text.substr(a, b - a), text.substr(b)});
      }
    }
  }
  return out;
}

inline bool same_message(const ParsedMessage& a, const ParsedMessage& b) {
  if (a.content != b.content || a.tool_calls.size() != b.tool_calls.size()) return false;
  for (size_t i = 0; i < a.tool_calls.size(); ++i) {
    if (a.tool_calls[i].id != b.tool_calls[i].id || a.tool_calls[i].name != b.tool_calls[i].name ||
        a.tool_calls[i].arguments != b.tool_calls[i].arguments) {
      return false;
    }
  }
  return true;
}

}  // namespace hearth::test
