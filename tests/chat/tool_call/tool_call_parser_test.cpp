// Table-driven tests of every dialect. Expected calls are written by hand from the formats as
// vLLM / llama.cpp / the model cards document them. Each case also checks the streaming
// invariant: however the text is split into pieces, the concatenated deltas equal the parse of
// the whole text, in both streaming and non-streaming modes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chat/tool_call/split_runner.h"

namespace hearth {
namespace {

using nlohmann::json;

struct ExpectedCall {
  std::string name;
  std::string arguments;  // JSON, compared as parsed values
};

struct Case {
  std::string parser;
  std::string text;
  std::string content;
  std::vector<ExpectedCall> calls;
  // Malformed output: with calls held (non-streaming) the whole text is content. Streaming may
  // differ once a call was sent (checked separately), so only the split invariant is checked.
  bool malformed = false;
};

std::vector<ToolSpec> tools() {
  return {
      {"get_weather", json::parse(R"({"type": "object", "properties": {
          "city": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"},
          "ratio": {"type": "number"}, "opts": {"type": "object"}, "tags": {"type": "array"},
          "limit": {"type": ["integer", "null"]}, "note": {"anyOf": [{"type": "number"},
          {"type": "string"}]}}})")},
      {"search", json::parse(R"({"type": "object", "properties": {"query": {"type": "string"}}})")},
      {"a", json::object()},
      {"b", json::object()},
  };
}

const std::vector<Case>& cases() {
  static const std::vector<Case> table = {
      // Hermes / Qwen
      {"hermes",
       "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
       "</tool_call>",
       "",
       {{"get_weather", R"({"city": "Paris"})"}}},
      {"hermes",
       "Let me check.\n\n<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": [1, 2.5e3, "
       "null, true]}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n"
       "</tool_call>",
       "Let me check.",
       {{"a", R"({"x": [1, 2.5e3, null, true]})"}, {"b", "{}"}}},
      {"hermes",
       "<tool_call>\n{\"arguments\": {\"query\": \"x\"}, \"name\": \"search\"}\n</tool_call>",
       "",
       {{"search", R"({"query": "x"})"}}},
      {"hermes",
       "<tool_call>{\"name\": \"search\", \"parameters\": {\"query\": \"q\"}}",
       "",
       {{"search", R"({"query": "q"})"}}},
      {"hermes",
       "<tool_call>{\"name\":\"search\",\"arguments\":{\"query\":\"a}b\\\"c</tool_call>\\u00e9\"}}"
       "</tool_call>\n\nDone.",
       "Done.",
       {{"search", R"({"query": "a}b\"c</tool_call>\u00e9"})"}}},
      {"hermes", "<tool_call>{\"name\": \"a\"}</tool_call>", "", {{"a", "{}"}}},
      {"hermes", "Hello <tool world, 1 < 2\n", "Hello <tool world, 1 < 2\n", {}},
      {"hermes",
       "<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>",
       "<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>",
       {},
       true},
      {"hermes",
       "<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": }}</tool_call> tail",
       "<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": }}</tool_call> tail",
       {},
       true},
      {"hermes",
       "Sure.\n<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": 1",
       "Sure.\n<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": 1",
       {},
       true},
      {"hermes", "<tool_call>not json</tool_call>", "<tool_call>not json</tool_call>", {}, true},
      // Qwen3-Coder XML
      {"qwen3_coder",
       "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
       "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
       "",
       {{"get_weather", R"({"city": "Paris", "days": 3})"}}},
      {"qwen3_coder",
       "I'll check.\n<tool_call>\n<function=get_weather>\n<parameter=metric>\nTrue\n</parameter>"
       "\n<parameter=ratio>\n2.5\n</parameter>\n<parameter=opts>\n{\"a\": [1]}\n</parameter>\n"
       "<parameter=tags>\n[\"x\", \"y\"]\n</parameter>\n<parameter=limit>\nnull\n</parameter>\n"
       "<parameter=days>\nabc\n</parameter>\n<parameter=note>\n1e2\n</parameter>\n"
       "<parameter=unlisted>\n7\n</parameter>\n<parameter=city>\nline \"1\"\nline 2\\\n"
       "</parameter>\n</function>\n</tool_call>",
       "I'll check.",
       {{"get_weather",
         R"({"metric": true, "ratio": 2.5, "opts": {"a": [1]}, "tags": ["x", "y"], "limit": null,
             "days": "abc", "note": 100.0, "unlisted": "7", "city": "line \"1\"\nline 2\\"})"}}},
      {"qwen3_coder",
       "<tool_call>\n<function=a>\n</function>\n</tool_call>\n<tool_call>\n<function=search>\n"
       "<parameter=query>\n\n</parameter>\n</function>\n</tool_call>",
       "",
       {{"a", "{}"}, {"search", R"({"query": ""})"}}},
      {"qwen3_coder",
       "<tool_call>\n<function=nope>\n</function>\n</tool_call>",
       "<tool_call>\n<function=nope>\n</function>\n</tool_call>",
       {},
       true},
      {"qwen3_coder",
       "<tool_call>\n<function=search>\n<parameter=query>\nunfinished",
       "<tool_call>\n<function=search>\n<parameter=query>\nunfinished",
       {},
       true},
      {"qwen3_coder", "<tool_call><oops>", "<tool_call><oops>", {}, true},
      // Llama 3.x JSON
      {"llama3_json",
       "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
       "",
       {{"get_weather", R"({"city": "Paris"})"}}},
      {"llama3_json", "<|python_tag|>{\"name\": \"a\", \"parameters\": {}}", "", {{"a", "{}"}}},
      {"llama3_json",
       " {\"name\": \"a\", \"parameters\": {\"x\": 1}}; {\"name\": \"b\", \"parameters\": "
       "{\"y\": 2}}",
       "",
       {{"a", R"({"x": 1})"}, {"b", R"({"y": 2})"}}},
      {"llama3_json",
       "{\"type\": \"function\", \"name\": \"a\", \"parameters\": {\"k\": \"v\"}}",
       "",
       {{"a", R"({"k": "v"})"}}},
      {"llama3_json",
       "I'll search.<|python_tag|>{\"name\": \"search\", \"arguments\": {}}",
       "I'll search.",
       {{"search", "{}"}}},
      {"llama3_json", "{\"answer\": 42}", "{\"answer\": 42}", {}, true},
      {"llama3_json",
       "Sure: {\"name\": \"a\", \"parameters\": {}}",
       "Sure: {\"name\": \"a\", \"parameters\": {}}",
       {}},
      {"llama3_json",
       "<|python_tag|>brave_search.call(query=\"x\")",
       "<|python_tag|>brave_search.call(query=\"x\")",
       {},
       true},
      // Mistral
      {"mistral",
       "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, "
       "{\"name\": \"b\", \"arguments\": {}, \"id\": \"abc123def\"}]",
       "",
       {{"get_weather", R"({"city": "Paris"})"}, {"b", "{}"}}},
      {"mistral",
       "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]b[ARGS]{}",
       "",
       {{"get_weather", R"({"city": "Paris"})"}, {"b", "{}"}}},
      {"mistral", "[TOOL_CALLS]a[CALL_ID]a1b2c3d4e[ARGS]{\"x\": 1}", "", {{"a", R"({"x": 1})"}}},
      {"mistral",
       "Checking.[TOOL_CALLS]search{\"query\": \"[ARGS]\"}",
       "Checking.",
       {{"search", R"({"query": "[ARGS]"})"}}},
      {"mistral", "[TOOL_CALLS]not a call", "[TOOL_CALLS]not a call", {}, true},
      {"mistral",
       "[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {}} {\"name\": \"b\"}]",
       "[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {}} {\"name\": \"b\"}]",
       {},
       true},
      {"mistral", "Use [TOOL_ a bracket", "Use [TOOL_ a bracket", {}},
  };
  return table;
}

ToolCallParserOptions options(bool stream) {
  ToolCallParserOptions o;
  o.tools = tools();
  o.stream_arguments = stream;
  return o;
}

void expect_calls(const ParsedMessage& m, const Case& c) {
  EXPECT_EQ(m.content, c.content);
  ASSERT_EQ(m.tool_calls.size(), c.calls.size());
  for (size_t i = 0; i < c.calls.size(); ++i) {
    EXPECT_EQ(m.tool_calls[i].name, c.calls[i].name);
    const json got = json::parse(m.tool_calls[i].arguments, nullptr, false);
    ASSERT_FALSE(got.is_discarded()) << "arguments are not JSON: " << m.tool_calls[i].arguments;
    EXPECT_EQ(got, json::parse(c.calls[i].arguments)) << m.tool_calls[i].arguments;
  }
}

TEST(ToolCallParsers, WholeTextParsesAsExpected) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.parser + ": " + c.text);
    const test::ParseRun held = test::run_parser(c.parser, {c.text}, options(false));
    expect_calls(held.message, c);
    if (!c.malformed) {
      const test::ParseRun streamed = test::run_parser(c.parser, {c.text}, options(true));
      EXPECT_TRUE(test::same_message(held.message, streamed.message));
    }
  }
}

TEST(ToolCallParsers, EverySplitGivesTheSameMessage) {
  for (const Case& c : cases()) {
    for (bool stream : {false, true}) {
      SCOPED_TRACE(c.parser + (stream ? " streaming: " : " held: ") + c.text);
      const ParsedMessage whole = test::run_parser(c.parser, {c.text}, options(stream)).message;
      for (const auto& pieces : test::all_splits(c.text)) {
        const ParsedMessage split = test::run_parser(c.parser, pieces, options(stream)).message;
        ASSERT_TRUE(test::same_message(whole, split))
            << "split into " << pieces.size() << " pieces, first '" << pieces[0] << "': content '"
            << split.content << "' vs '" << whole.content << "'";
      }
    }
  }
}

TEST(ToolCallParsers, StreamingSendsTheHeaderBeforeTheArgumentsAreComplete) {
  const std::string text =
      "<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"long query text\"}}\n"
      "</tool_call>";
  auto made = make_tool_call_parser("hermes", options(true));
  ASSERT_TRUE(made.ok());
  std::vector<MessageDelta> deltas;
  (*made)->feed(text.substr(0, 59), deltas);  // up to the middle of the query
  ASSERT_FALSE(deltas.empty());
  ASSERT_TRUE(deltas[0].tool_call && deltas[0].tool_call->is_header());
  EXPECT_EQ(deltas[0].tool_call->name, "search");
  EXPECT_EQ(deltas[0].tool_call->index, 0);
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(deltas[1].tool_call->arguments, "{\"query\": \"long");
}

TEST(ToolCallParsers, NonStreamingHoldsCallsUntilComplete) {
  auto made = make_tool_call_parser("hermes", options(false));
  ASSERT_TRUE(made.ok());
  std::vector<MessageDelta> deltas;
  (*made)->feed("Hi <tool_call>{\"name\": \"a\", \"arguments\": {\"x\"", deltas);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].content, "Hi");
  (*made)->feed(": 1}}</tool_call>", deltas);
  ASSERT_EQ(deltas.size(), 3u);
  EXPECT_EQ(deltas[1].tool_call->name, "a");
  EXPECT_EQ(deltas[2].tool_call->arguments, "{\"x\": 1}");
}

TEST(ToolCallParsers, PartialMarkersAreHeldBack) {
  auto made = make_tool_call_parser("hermes", options(true));
  ASSERT_TRUE(made.ok());
  std::vector<MessageDelta> deltas;
  (*made)->feed("Answer: <tool_ca", deltas);
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].content, "Answer:");
  deltas.clear();
  (*made)->feed("ke it", deltas);  // not a marker after all: released
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(deltas[0].content, " <tool_cake it");
}

TEST(ToolCallParsers, StreamingKeepsACallWhoseArgumentsBreakLaterAndLosesNoText) {
  const test::ParseRun run = test::run_parser(
      "hermes", {"<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": }} rest"}, options(true));
  ASSERT_EQ(run.message.tool_calls.size(), 1u);
  EXPECT_EQ(run.message.tool_calls[0].arguments, "{\"x\": ");
  EXPECT_EQ(run.message.content, "}} rest");
}

TEST(ToolCallParsers, WithoutToolsAnyNameIsAccepted) {
  ToolCallParserOptions o;
  const test::ParseRun run = test::run_parser(
      "hermes", {"<tool_call>{\"name\": \"anything\", \"arguments\": {}}</tool_call>"}, o);
  ASSERT_EQ(run.message.tool_calls.size(), 1u);
  EXPECT_EQ(run.message.tool_calls[0].name, "anything");
}

TEST(ToolCallParsers, CallIdsAreUniqueAndRandomWithoutASeed) {
  ToolCallParserOptions o;
  auto a = make_tool_call_parser("mistral", o);
  auto b = make_tool_call_parser("mistral", o);
  std::vector<MessageDelta> da, db;
  (*a)->feed("[TOOL_CALLS]f[ARGS]{}[TOOL_CALLS]g[ARGS]{}", da);
  (*b)->feed("[TOOL_CALLS]f[ARGS]{}", db);
  (*a)->finish(da);
  (*b)->finish(db);
  ASSERT_EQ((*a)->message().tool_calls.size(), 2u);
  EXPECT_NE((*a)->message().tool_calls[0].id, (*a)->message().tool_calls[1].id);
  EXPECT_NE((*a)->message().tool_calls[0].id, (*b)->message().tool_calls[0].id);
}

}  // namespace
}  // namespace hearth
