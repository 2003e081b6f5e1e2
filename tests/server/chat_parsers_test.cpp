// The real reasoning and tool-call parsers (src/chat) behind the server's output seam: model
// text with <think> and <tool_call> markers, cut at awkward places, comes out as
// reasoning_content, content and tool-call deltas, and the same message when not streamed.
#include <gtest/gtest.h>

#include "server_test_util.h"

namespace hearth::test {
namespace {

using nlohmann::json;

// A hermes-style template source: its "<tool_call>" marker selects the hermes dialect.
constexpr const char* kHermesTemplate =
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}"
    "{% if tools %}<tool_call>{\"name\": ..., \"arguments\": ...}</tool_call>{% endif %}";

// Markers split across pieces, as a tokenizer would produce them.
const std::vector<std::string> kScript = {"<th",
                                          "ink>\nI should ",
                                          "look it up.</th",
                                          "ink>\n\nLet me check",
                                          ".\n<tool",
                                          "_call>\n{\"name\": \"get_",
                                          "weather\", \"arguments\": {\"city\": \"Os",
                                          "lo\"}}\n</tool_",
                                          "call>"};

json tools() {
  const json parameters = {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}};
  const json function = {{"name", "get_weather"}, {"parameters", parameters}};
  return json::array({{{"type", "function"}, {"function", function}}});
}

struct Collected {
  std::string reasoning;
  std::string content;
  std::string name;
  std::string id;
  std::string arguments;
  std::string finish_reason;
};

TEST(ChatParsersTest, ReasoningAndToolCallsStreamAndAggregate) {
  FakeEngineConfig config;
  config.chat_template_source = kHermesTemplate;
  config.script = kScript;
  ServerHarness harness(config);
  json body = chat_body("Weather in Oslo?");
  body["tools"] = tools();
  body["stream"] = true;
  const std::string response = raw_post(harness.port(), "/v1/chat/completions", body);
  ASSERT_EQ(raw_status(response), 200) << response;
  const auto chunks = sse_json_chunks(parse_sse(dechunk(raw_body(response))));
  Collected streamed;
  for (const json& chunk : chunks) {
    const json& choice = chunk["choices"][0];
    const json& delta = choice["delta"];
    if (delta.contains("reasoning_content")) streamed.reasoning += delta["reasoning_content"];
    if (delta.contains("content")) {
      const std::string piece = delta["content"];
      // No marker fragment ever reaches the visible text.
      EXPECT_EQ(piece.find('<'), std::string::npos) << piece;
      streamed.content += piece;
    }
    if (delta.contains("tool_calls")) {
      const json& call = delta["tool_calls"][0];
      EXPECT_EQ(call["index"], 0);
      if (call.contains("id")) {
        EXPECT_TRUE(streamed.id.empty()) << "a second header for the same call";
        streamed.id = call["id"];
        streamed.name = call["function"]["name"];
      }
      streamed.arguments += call["function"]["arguments"].get<std::string>();
    }
    if (!choice["finish_reason"].is_null()) streamed.finish_reason = choice["finish_reason"];
  }
  EXPECT_EQ(streamed.reasoning, "I should look it up.");
  EXPECT_EQ(streamed.content, "Let me check.");
  EXPECT_EQ(streamed.name, "get_weather");
  EXPECT_EQ(streamed.id.rfind("call_", 0), 0u);
  EXPECT_EQ(json::parse(streamed.arguments), (json{{"city", "Oslo"}}));
  EXPECT_EQ(streamed.finish_reason, "tool_calls");

  body["stream"] = false;
  auto res = harness.post_json("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json choice = json::parse(res->body)["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_EQ(choice["message"]["reasoning_content"], streamed.reasoning);
  EXPECT_EQ(choice["message"]["content"], streamed.content);
  ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u);
  EXPECT_EQ(choice["message"]["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(
      json::parse(choice["message"]["tool_calls"][0]["function"]["arguments"].get<std::string>()),
      (json{{"city", "Oslo"}}));
}

TEST(ChatParsersTest, WithoutToolsMarkersStayTextAndToolChoiceNoneDisablesParsing) {
  FakeEngineConfig config;
  config.chat_template_source = kHermesTemplate;
  config.script = {"<tool_call>{\"name\": \"x\", \"arguments\": {}}</tool_call>"};
  ServerHarness harness(config);
  auto res = harness.post_json("/v1/chat/completions", chat_body());
  ASSERT_TRUE(res);
  json message = json::parse(res->body)["choices"][0]["message"];
  EXPECT_EQ(message["content"], config.script[0]);
  EXPECT_FALSE(message.contains("tool_calls"));

  json body = chat_body();
  body["tools"] = tools();
  body["tool_choice"] = "none";
  res = harness.post_json("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  message = json::parse(res->body)["choices"][0]["message"];
  EXPECT_EQ(message["content"], config.script[0]);
}

TEST(ChatParsersTest, MalformedToolCallIsReturnedAsText) {
  FakeEngineConfig config;
  config.chat_template_source = kHermesTemplate;
  config.script = {"<tool_call>{\"name\": \"get_weather\", \"arguments\": {oops</tool_call>"};
  ServerHarness harness(config);
  json body = chat_body();
  body["tools"] = tools();
  auto res = harness.post_json("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json choice = json::parse(res->body)["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_FALSE(choice["message"].contains("tool_calls"));
  EXPECT_EQ(choice["message"]["content"], config.script[0]);
}

TEST(ChatParsersTest, UnknownToolCallParserNameIsRefusedAtStartup) {
  FakeEngine engine;
  auto options = ServerHarness::default_options();
  options.tool_call_parser = "no-such-dialect";
  server::HttpServer server(engine, options);
  const Status status = server.bind();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("hermes"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace hearth::test
