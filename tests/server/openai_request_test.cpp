// Request parsing without HTTP: how each accepted field lands in the engine's types, how
// conversations are normalized for chat templates, and the input checks underneath.
#include <gtest/gtest.h>

#include "server/http/auth.h"
#include "server/http/server_options.h"
#include "server/openai/chat_request.h"
#include "server/openai/completion_request.h"
#include "server/openai/json_body.h"
#include "support/test_support.h"

namespace hearth::server {
namespace {

using json = nlohmann::ordered_json;

RequestLimits limits() {
  RequestLimits l;
  l.context_size = 4096;
  l.vocab_size = 1000;
  l.model_id = "m";
  return l;
}

json base_chat() {
  return {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
}

ChatRequest parse_ok(const json& body) {
  auto parsed = parse_chat_request(body, limits());
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? std::move(parsed.value()) : ChatRequest{};
}

TEST(ChatRequestTest, MapsEverySamplingFieldOntoTheEngineRequest) {
  json body = base_chat();
  body.update({{"temperature", 0.7},
               {"top_p", 0.9},
               {"top_k", 40},
               {"min_p", 0.05},
               {"presence_penalty", 0.5},
               {"frequency_penalty", -0.5},
               {"repetition_penalty", 1.1},
               {"logit_bias", {{"17", -100}, {"42", 3.5}}},
               {"seed", -1},
               {"stop", "END"},
               {"max_completion_tokens", 77},
               {"logprobs", true},
               {"top_logprobs", 3},
               {"ignore_eos", true},
               {"skip_special_tokens", false},
               {"user", "someone"},
               {"n", 1},
               {"response_format", {{"type", "text"}}}});
  const ChatRequest req = parse_ok(body);
  const SamplingParams& s = req.generation.sampling;
  EXPECT_FLOAT_EQ(s.temperature, 0.7f);
  EXPECT_FLOAT_EQ(s.top_p, 0.9f);
  EXPECT_EQ(s.top_k, 40);
  EXPECT_FLOAT_EQ(s.min_p, 0.05f);
  EXPECT_FLOAT_EQ(s.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(s.frequency_penalty, -0.5f);
  EXPECT_FLOAT_EQ(s.repetition_penalty, 1.1f);
  ASSERT_EQ(s.logit_bias.size(), 2u);
  EXPECT_EQ(s.logit_bias[0], (std::pair<int32_t, float>{17, -100.0f}));
  EXPECT_EQ(s.logit_bias[1], (std::pair<int32_t, float>{42, 3.5f}));
  ASSERT_TRUE(s.seed.has_value());
  EXPECT_EQ(*s.seed, ~uint64_t{0});  // -1 as two's complement
  EXPECT_TRUE(s.logprobs);
  EXPECT_EQ(s.top_logprobs, 3);
  EXPECT_EQ(req.generation.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(req.generation.max_tokens, 77);
  EXPECT_TRUE(req.generation.max_tokens_explicit);
  EXPECT_TRUE(req.generation.ignore_eos);
  EXPECT_FALSE(req.generation.skip_special_tokens);
}

TEST(ChatRequestTest, AbsentAndNullFieldsKeepTheDefaults) {
  json body = base_chat();
  body.update({{"temperature", nullptr}, {"stop", nullptr}, {"tools", nullptr}, {"seed", nullptr}});
  const ChatRequest req = parse_ok(body);
  const SamplingParams defaults;
  EXPECT_EQ(req.generation.sampling.temperature, defaults.temperature);
  EXPECT_FALSE(req.generation.sampling.seed.has_value());
  EXPECT_TRUE(req.generation.stop.empty());
  EXPECT_FALSE(req.generation.max_tokens.has_value());
  EXPECT_TRUE(req.template_tools.is_null());
  EXPECT_FALSE(req.generation.stream);
}

TEST(ChatRequestTest, VllmStyleTopKMinusOneMeansOff) {
  json body = base_chat();
  body["top_k"] = -1;
  EXPECT_EQ(parse_ok(body).generation.sampling.top_k, 0);
}

TEST(ChatRequestTest, NormalizesMessagesForTheTemplate) {
  json body = base_chat();
  body["messages"] = json::array({
      {{"role", "developer"}, {"content", "be brief"}},
      {{"role", "user"},
       {"content", {{{"type", "text"}, {"text", "line one"}}, {{"type", "text"}, {"text", "two"}}}},
       {"name", "ann"}},
      {{"role", "assistant"},
       {"content", nullptr},
       {"reasoning_content", "thinking"},
       {"tool_calls",
        {{{"id", "call_1"},
          {"type", "function"},
          {"function", {{"name", "get_weather"}, {"arguments", R"({"city": "Oslo"})"}}}}}}},
      {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "7C"}},
  });
  const ChatRequest req = parse_ok(body);
  const json expected = json::array({
      {{"role", "system"}, {"content", "be brief"}},
      {{"role", "user"}, {"content", "line one\ntwo"}, {"name", "ann"}},
      {{"role", "assistant"},
       {"content", ""},  // null content of a tool-call turn becomes "" for the template
       {"tool_calls",
        {{{"id", "call_1"},
          {"type", "function"},
          {"function", {{"name", "get_weather"}, {"arguments", {{"city", "Oslo"}}}}}}}},
       {"reasoning_content", "thinking"}},
      {{"role", "tool"}, {"content", "7C"}, {"tool_call_id", "call_1"}},
  });
  EXPECT_EQ(req.messages, expected) << req.messages.dump(2);
}

TEST(ChatRequestTest, ToolsGetDefaultParametersAndToolChoiceShapesTheTemplateTools) {
  json body = base_chat();
  body["tools"] = json::array({
      {{"type", "function"}, {"function", {{"name", "a"}, {"description", "first"}}}},
      {{"type", "function"},
       {"function", {{"name", "b"}, {"parameters", {{"type", "object"}, {"required", {"x"}}}}}}},
  });
  ChatRequest req = parse_ok(body);
  ASSERT_EQ(req.template_tools.size(), 2u);
  EXPECT_EQ(req.template_tools[0]["function"]["parameters"],
            (json{{"type", "object"}, {"properties", json::object()}}));
  EXPECT_EQ(req.template_tools[1]["function"]["parameters"]["required"], json({"x"}));
  EXPECT_EQ(req.tool_choice.mode, ToolChoice::kAuto);

  body["tool_choice"] = "none";
  req = parse_ok(body);
  EXPECT_TRUE(req.template_tools.is_null());
  EXPECT_EQ(req.tool_choice.mode, ToolChoice::kNone);

  body["tool_choice"] = {{"type", "function"}, {"function", {{"name", "b"}}}};
  req = parse_ok(body);
  EXPECT_EQ(req.tool_choice.mode, ToolChoice::kNamed);
  ASSERT_EQ(req.template_tools.size(), 1u);
  EXPECT_EQ(req.template_tools[0]["function"]["name"], "b");

  body["tool_choice"] = "required";
  body["parallel_tool_calls"] = false;
  req = parse_ok(body);
  EXPECT_EQ(req.tool_choice.mode, ToolChoice::kRequired);
  EXPECT_FALSE(req.parallel_tool_calls);
}

TEST(ChatRequestTest, StreamOptionsAndTemplateKwargs) {
  json body = base_chat();
  body.update({{"stream", true},
               {"stream_options", {{"include_usage", true}}},
               {"chat_template_kwargs", {{"enable_thinking", false}}}});
  const ChatRequest req = parse_ok(body);
  EXPECT_TRUE(req.generation.stream);
  EXPECT_TRUE(req.generation.include_usage);
  EXPECT_EQ(req.template_kwargs, (json{{"enable_thinking", false}}));
}

TEST(ChatRequestTest, ErrorsNameTheFieldWithItsFullPath) {
  json body = base_chat();
  body["messages"][0]["content"] = {{{"type", "text"}, {"text", "a"}},
                                    {{"type", "image_url"}, {"image_url", {{"url", "x"}}}}};
  auto parsed = parse_chat_request(body, limits());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().http_status, 400);
  EXPECT_EQ(parsed.error().param, "messages[0].content[1].type");
  EXPECT_NE(parsed.error().message.find("image_url"), std::string::npos);
}

TEST(CompletionRequestTest, AcceptsEachPromptForm) {
  for (const json& prompt : {json("text"), json({"text"})}) {
    auto parsed = parse_completion_request({{"prompt", prompt}}, limits());
    ASSERT_TRUE(parsed.ok()) << prompt.dump();
    EXPECT_EQ(parsed->prompt_text, "text");
    EXPECT_FALSE(parsed->prompt_is_tokens);
    EXPECT_EQ(parsed->generation.max_tokens, kDefaultCompletionMaxTokens);
    EXPECT_FALSE(parsed->generation.max_tokens_explicit);
  }
  for (const json& prompt : {json({1, 2, 3}), json({{1, 2, 3}})}) {
    auto parsed = parse_completion_request({{"prompt", prompt}, {"logprobs", 2}}, limits());
    ASSERT_TRUE(parsed.ok()) << prompt.dump();
    EXPECT_TRUE(parsed->prompt_is_tokens);
    EXPECT_EQ(parsed->prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
    EXPECT_TRUE(parsed->generation.sampling.logprobs);
    EXPECT_EQ(parsed->generation.sampling.top_logprobs, 2);
  }
}

TEST(JsonBodyTest, NestingDepthSkipsStringsAndStopsEarly) {
  EXPECT_EQ(json_nesting_depth(R"({"a": [1, {"b": "[[[[{{{"}]})", 100), 3);
  EXPECT_EQ(json_nesting_depth(R"({"a": "\"[[["})", 100), 1);
  EXPECT_EQ(json_nesting_depth(std::string(1000, '['), 10), 11);
  EXPECT_EQ(json_nesting_depth("]]]]{", 10), 1);
}

TEST(JsonBodyTest, ParseErrorsAreApiErrors) {
  EXPECT_EQ(parse_json_object_body("{").error().code, "invalid_json");
  EXPECT_EQ(parse_json_object_body("[1]").error().code, "invalid_type");
  EXPECT_EQ(parse_json_object_body("\"\xff\"").error().code, "invalid_utf8");
  EXPECT_TRUE(parse_json_object_body(R"({"a": 1})").ok());
}

TEST(AuthHelpersTest, ConstantTimeEqualsAndBearerParsing) {
  EXPECT_TRUE(constant_time_equals("secret", "secret"));
  EXPECT_FALSE(constant_time_equals("secret", "secreT"));
  EXPECT_FALSE(constant_time_equals("secret", "secret2"));
  EXPECT_FALSE(constant_time_equals("", "x"));
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_TRUE(bearer_token_matches("Bearer k-1", "k-1"));
  EXPECT_TRUE(bearer_token_matches("bearer  k-1 ", "k-1"));
  EXPECT_FALSE(bearer_token_matches("Basic k-1", "k-1"));
  EXPECT_FALSE(bearer_token_matches("Bearer", "k-1"));
  EXPECT_FALSE(bearer_token_matches("Bearer k-2", "k-1"));
  EXPECT_FALSE(bearer_token_matches("", "k-1"));
}

TEST(ServerOptionsTest, NonLoopbackNeedsAnApiKeyOrAnExplicitFlag) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("::"));
  EXPECT_FALSE(is_loopback_host("192.168.1.5"));
  EXPECT_FALSE(is_loopback_host("example.com"));

  ServerOptions options;
  options.host = "0.0.0.0";
  const Status refused = validate_server_options(options);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("--api-key"), std::string::npos) << refused.message();
  options.api_key = "k";
  EXPECT_TRUE(validate_server_options(options).ok());
  options.api_key.clear();
  options.insecure_no_api_key = true;
  EXPECT_TRUE(validate_server_options(options).ok());
  options.host = "127.0.0.1";
  options.insecure_no_api_key = false;
  options.default_template_kwargs = json::array();
  EXPECT_FALSE(validate_server_options(options).ok());
}

}  // namespace
}  // namespace hearth::server
