// ChatChoiceBuilder / CompletionChoiceBuilder without HTTP: the JSON they make from events.
#include <gtest/gtest.h>

#include "scripted_output_parser.h"
#include "server/openai/chat_response.h"
#include "server/openai/completion_response.h"

namespace hearth::server {
namespace {

using json = nlohmann::ordered_json;

ResponseMeta meta() {
  return {"chatcmpl-test", 1700000000, "m", "fp_x"};
}

GenerationEvent text_event(const std::string& text, std::vector<TokenLogprob> logprobs = {}) {
  GenerationEvent e;
  e.kind = GenerationEvent::Kind::kText;
  e.text = text;
  e.logprobs = std::move(logprobs);
  return e;
}

GenerationEvent done_event(FinishReason finish) {
  GenerationEvent e;
  e.kind = GenerationEvent::Kind::kDone;
  e.finish = finish;
  e.usage.prompt_tokens = 10;
  e.usage.cached_tokens = 4;
  e.usage.completion_tokens = 6;
  return e;
}

std::string token_text(int32_t id) {
  std::string text = std::to_string(id);
  text.insert(text.begin(), '<');
  text.push_back('>');
  return text;
}

TEST(ChatChoiceBuilderTest, WholeResponseWithReasoningAndParallelToolCalls) {
  ChatChoiceOptions options;
  ChatChoiceBuilder builder(meta(), options, std::make_unique<test::ScriptedOutputParser>(),
                            token_text);
  EXPECT_TRUE(builder.start().empty());
  for (const char* piece :
       {"think:plan", "call:a", "args:{\"x\":", "args:1}", "call:b", "args:{}"}) {
    EXPECT_TRUE(builder.on_text(text_event(piece)).empty());
  }
  const auto done = done_event(FinishReason::kStop);
  EXPECT_TRUE(builder.finish(done).empty());
  const json r = builder.response(done);
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["id"], "chatcmpl-test");
  const json& choice = r["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_TRUE(choice["logprobs"].is_null());
  const json& message = choice["message"];
  EXPECT_TRUE(message["content"].is_null());
  EXPECT_EQ(message["reasoning_content"], "plan");
  ASSERT_EQ(message["tool_calls"].size(), 2u);
  EXPECT_EQ(message["tool_calls"][0]["function"],
            (json{{"name", "a"}, {"arguments", "{\"x\":1}"}}));
  EXPECT_EQ(message["tool_calls"][1]["function"], (json{{"name", "b"}, {"arguments", "{}"}}));
  EXPECT_EQ(message["tool_calls"][0]["type"], "function");
  EXPECT_EQ(message["tool_calls"][0]["id"].get<std::string>().rfind("call_", 0), 0u);
  EXPECT_NE(message["tool_calls"][0]["id"], message["tool_calls"][1]["id"]);
  EXPECT_EQ(r["usage"], (json{{"prompt_tokens", 10},
                              {"completion_tokens", 6},
                              {"total_tokens", 16},
                              {"prompt_tokens_details", {{"cached_tokens", 4}}}}));
}

TEST(ChatChoiceBuilderTest, ParallelToolCallsFalseKeepsOnlyTheFirstCall) {
  ChatChoiceOptions options;
  options.parallel_tool_calls = false;
  ChatChoiceBuilder builder(meta(), options, std::make_unique<test::ScriptedOutputParser>(),
                            token_text);
  for (const char* piece : {"call:a", "args:{}", "call:b", "args:{\"y\":2}"}) {
    (void)builder.on_text(text_event(piece));
  }
  const auto done = done_event(FinishReason::kStop);
  (void)builder.finish(done);
  const json message = builder.response(done)["choices"][0]["message"];
  ASSERT_EQ(message["tool_calls"].size(), 1u);
  EXPECT_EQ(message["tool_calls"][0]["function"]["arguments"], "{}");
}

TEST(ChatChoiceBuilderTest, StreamingLogprobsRideOnTheChunkThatCarriesTheirText) {
  ChatChoiceOptions options;
  options.streaming = true;
  options.logprobs = true;
  ChatChoiceBuilder builder(meta(), options, std::make_unique<test::ScriptedOutputParser>(),
                            token_text);
  TokenLogprob lp;
  lp.token = 7;
  lp.piece = "\xe2\x82";  // part of a character: the token string is repaired, bytes exact
  lp.logprob = -0.5f;
  lp.top = {{7, -0.5f}, {9, -1.5f}};
  // Held back by the parser: no chunk yet, the logprobs wait.
  EXPECT_TRUE(builder.on_text(text_event("hold:x", {lp})).empty());
  const auto chunks = builder.finish(done_event(FinishReason::kLength));
  ASSERT_EQ(chunks.size(), 2u);  // released content, then finish
  const json& first = chunks[0]["choices"][0];
  EXPECT_EQ(first["delta"], (json{{"content", "x"}}));
  ASSERT_TRUE(first["logprobs"].is_object());
  const json& entry = first["logprobs"]["content"][0];
  EXPECT_EQ(entry["bytes"], (json{0xe2, 0x82}));
  EXPECT_EQ(entry["logprob"], -0.5);
  EXPECT_EQ(entry["top_logprobs"][1],
            (json{{"token", "<9>"}, {"logprob", -1.5}, {"bytes", {'<', '9', '>'}}}));
  EXPECT_TRUE(chunks[1]["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(chunks[1]["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(chunks[1]["choices"][0]["delta"], json::object());
}

TEST(CompletionChoiceBuilderTest, LegacyLogprobsWithTextOffsets) {
  CompletionChoiceOptions options;
  options.logprobs = true;
  CompletionChoiceBuilder builder(meta(), options, token_text);
  TokenLogprob a;
  a.token = 1;
  a.piece = "ab";
  a.logprob = -1.0f;
  a.top = {{3, -1.0f}};
  TokenLogprob b = a;
  b.piece = "c";
  b.logprob = -2.0f;
  (void)builder.on_text(text_event("abc", {a, b}));
  const auto done = done_event(FinishReason::kStop);
  (void)builder.finish(done);
  const json r = builder.response(done);
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["choices"][0]["text"], "abc");
  EXPECT_EQ(r["choices"][0]["logprobs"], (json{{"tokens", {"ab", "c"}},
                                               {"token_logprobs", {-1.0, -2.0}},
                                               {"top_logprobs", {{{"<3>", -1.0}}, {{"<3>", -1.0}}}},
                                               {"text_offset", {0, 2}}}));
}

}  // namespace
}  // namespace hearth::server
