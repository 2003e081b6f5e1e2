// Every route through real HTTP against the FakeEngine: response schemas field by field, and
// what the engine receives.
#include <gtest/gtest.h>

#include <set>

#include "server/openai/response_common.h"
#include "server_test_util.h"

namespace hearth::test {
namespace {

using nlohmann::json;

std::set<std::string> keys(const json& object) {
  std::set<std::string> out;
  for (const auto& [key, value] : object.items()) out.insert(key);
  return out;
}

class HttpRoutesTest : public ::testing::Test {
 protected:
  ServerHarness harness_;
};

TEST_F(HttpRoutesTest, ChatCompletionHasOpenAISchema) {
  const auto before = server::unix_time_now();
  auto res = harness_.post_json("/v1/chat/completions", chat_body("Hi"));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  const json r = json::parse(res->body);
  EXPECT_EQ(keys(r), (std::set<std::string>{"id", "object", "created", "model",
                                            "system_fingerprint", "choices", "usage"}));
  EXPECT_EQ(r["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_GT(r["id"].get<std::string>().size(), 20u);
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_GE(r["created"].get<int64_t>(), before);
  EXPECT_LE(r["created"].get<int64_t>(), server::unix_time_now());
  EXPECT_EQ(r["model"], "fake-model");
  EXPECT_EQ(r["system_fingerprint"].get<std::string>().rfind("fp_", 0), 0u);
  ASSERT_EQ(r["choices"].size(), 1u);
  const json& choice = r["choices"][0];
  EXPECT_EQ(keys(choice), (std::set<std::string>{"index", "message", "logprobs", "finish_reason"}));
  EXPECT_EQ(choice["index"], 0);
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_TRUE(choice["logprobs"].is_null());
  EXPECT_EQ(choice["message"],
            (json{{"role", "assistant"}, {"content", "Hello, world!"}, {"refusal", nullptr}}));

  // Usage counts the templated prompt exactly as the engine tokenized it.
  const auto render = harness_.engine().last_render();
  ASSERT_TRUE(render.has_value());
  const auto prompt_text = harness_.engine().render_chat(*render);
  const auto prompt = harness_.engine().tokenize(*prompt_text, false, true);
  EXPECT_EQ(r["usage"], (json{{"prompt_tokens", prompt->size()},
                              {"completion_tokens", 13},
                              {"total_tokens", prompt->size() + 13},
                              {"prompt_tokens_details", {{"cached_tokens", 0}}}}));
  const auto record = harness_.engine().last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->request.prompt, *prompt);
  EXPECT_EQ(record->request.max_tokens, -1);
}

TEST_F(HttpRoutesTest, TheAliasRouteAndSamplingFieldsReachTheEngine) {
  json body = chat_body();
  body.update({{"temperature", 0.2},
               {"top_k", 5},
               {"seed", 9},
               {"max_tokens", 50},
               {"stop", {"zz"}},
               {"logit_bias", {{"65", 2}}}});
  auto res = harness_.post_json("/chat/completions", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto record = harness_.engine().last_record();
  ASSERT_TRUE(record.has_value());
  EXPECT_FLOAT_EQ(record->request.sampling.temperature, 0.2f);
  EXPECT_EQ(record->request.sampling.top_k, 5);
  EXPECT_EQ(record->request.sampling.seed, 9u);
  EXPECT_EQ(record->request.max_tokens, 50);
  EXPECT_EQ(record->request.stop, std::vector<std::string>{"zz"});
  ASSERT_EQ(record->request.sampling.logit_bias.size(), 1u);
  EXPECT_EQ(record->request.sampling.logit_bias[0].first, 65);
}

TEST_F(HttpRoutesTest, StopStringsAndMaxTokensSetTheFinishReason) {
  json body = chat_body();
  body["stop"] = {"wor"};
  auto res = harness_.post_json("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  json r = json::parse(res->body);
  EXPECT_EQ(r["choices"][0]["message"]["content"], "Hello, ");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");

  body = chat_body();
  body["max_completion_tokens"] = 4;
  res = harness_.post_json("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  r = json::parse(res->body);
  EXPECT_EQ(r["choices"][0]["message"]["content"], "Hell");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["usage"]["completion_tokens"], 4);
}

TEST_F(HttpRoutesTest, LogprobsInTheWholeResponse) {
  harness_.engine().set_script({"Hé"});
  json body = chat_body();
  body.update({{"logprobs", true}, {"top_logprobs", 2}});
  auto res = harness_.post_json("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json logprobs = json::parse(res->body)["choices"][0]["logprobs"];
  EXPECT_TRUE(logprobs["refusal"].is_null());
  const json& content = logprobs["content"];
  ASSERT_EQ(content.size(), 3u);  // 'H' and the two bytes of 'é'
  EXPECT_EQ(content[0]["token"], "H");
  EXPECT_EQ(content[0]["bytes"], json({72}));
  EXPECT_DOUBLE_EQ(content[0]["logprob"].get<double>(), -0.25);
  EXPECT_EQ(content[1]["bytes"], json({0xc3}));
  EXPECT_EQ(content[2]["bytes"], json({0xa9}));
  ASSERT_EQ(content[0]["top_logprobs"].size(), 2u);
  EXPECT_EQ(content[0]["top_logprobs"][1],
            (json{{"token", "b"}, {"logprob", -2.0}, {"bytes", {98}}}));
}

TEST_F(HttpRoutesTest, TemplateKwargsAndToolsReachTheTemplate) {
  json body = chat_body();
  body["chat_template_kwargs"] = {{"enable_thinking", false}};
  body["tools"] = {{{"type", "function"}, {"function", {{"name", "lookup"}}}}};
  auto res = harness_.post_json("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  auto render = harness_.engine().last_render();
  ASSERT_TRUE(render.has_value());
  EXPECT_EQ(json::parse(render->template_kwargs.dump()), (json{{"enable_thinking", false}}));
  EXPECT_TRUE(render->add_generation_prompt);
  ASSERT_EQ(render->tools.size(), 1u);
  EXPECT_EQ(render->tools[0]["function"]["name"], "lookup");

  body["tool_choice"] = "none";
  res = harness_.post_json("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  render = harness_.engine().last_render();
  EXPECT_TRUE(render->tools.is_null());
}

TEST_F(HttpRoutesTest, KeyOrderOfSchemasAndArgumentsReachesTheTemplate) {
  // Templates print tool schemas and call arguments with tojson: their key order is the
  // client's, not alphabetical.
  const std::string body = R"({"messages": [
      {"role": "user", "content": "x"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
       "function": {"name": "f", "arguments": "{\"zeta\": 1, \"alpha\": 2}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "ok"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters":
      {"type": "object", "properties": {"zeta": {"type": "integer"}, "alpha": {"type": "integer"}},
       "required": ["zeta"]}}}]})";
  auto res = harness_.post_raw("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto render = harness_.engine().last_render();
  ASSERT_TRUE(render.has_value());
  EXPECT_EQ(render->tools[0]["function"]["parameters"].dump(),
            R"({"type":"object","properties":{"zeta":{"type":"integer"},)"
            R"("alpha":{"type":"integer"}},"required":["zeta"]})");
  EXPECT_EQ(render->messages[1]["tool_calls"][0]["function"]["arguments"].dump(),
            R"({"zeta":1,"alpha":2})");
}

TEST_F(HttpRoutesTest, EngineFailureIsA500InOpenAIShape) {
  harness_.engine().set_fail_with("the GPU caught fire");
  auto res = harness_.post_json("/v1/chat/completions", chat_body());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  const json e = json::parse(res->body)["error"];
  EXPECT_EQ(e["type"], "server_error");
  EXPECT_NE(e["message"].get<std::string>().find("the GPU caught fire"), std::string::npos);
}

TEST_F(HttpRoutesTest, TextCompletionSchema) {
  auto res = harness_.post_json("/v1/completions", {{"model", "fake-model"}, {"prompt", "Once"}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json r = json::parse(res->body);
  EXPECT_EQ(keys(r), (std::set<std::string>{"id", "object", "created", "model",
                                            "system_fingerprint", "choices", "usage"}));
  EXPECT_EQ(r["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["choices"][0], (json{{"index", 0},
                                   {"text", "Hello, world!"},
                                   {"logprobs", nullptr},
                                   {"finish_reason", "stop"}}));
  // The raw prompt gets BOS: <s> + 4 bytes.
  EXPECT_EQ(r["usage"]["prompt_tokens"], 5);
  const auto record = harness_.engine().last_record();
  EXPECT_EQ(record->request.prompt, (std::vector<int32_t>{FakeEngine::kBos, 'O', 'n', 'c', 'e'}));
  EXPECT_EQ(record->request.max_tokens, 16);  // the API's default

  res = harness_.post_json("/completions",
                           {{"prompt", {1, 2, 3}}, {"max_tokens", 3}, {"logprobs", 1}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json choice = json::parse(res->body)["choices"][0];
  EXPECT_EQ(choice["text"], "Hel");
  EXPECT_EQ(choice["finish_reason"], "length");
  EXPECT_EQ(choice["logprobs"]["tokens"], json({"H", "e", "l"}));
  EXPECT_EQ(choice["logprobs"]["text_offset"], json({0, 1, 2}));
  EXPECT_EQ(harness_.engine().last_record()->request.prompt, (std::vector<int32_t>{1, 2, 3}));
}

TEST_F(HttpRoutesTest, ModelsAndHealth) {
  auto res = harness_.get("/v1/models");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const json models = json::parse(res->body);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  const json& model = models["data"][0];
  EXPECT_EQ(model["id"], "fake-model");
  EXPECT_EQ(model["object"], "model");
  EXPECT_TRUE(model["created"].is_number_integer());
  EXPECT_EQ(model["owned_by"], "hearth");

  res = harness_.get("/v1/models/fake-model");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body), model);

  res = harness_.get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body),
            (json{{"status", "ok"}, {"model", "fake-model"}, {"queued", 0}, {"running", 0}}));

  auto cli = harness_.client();
  auto head = cli.Head("/health");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
}

TEST_F(HttpRoutesTest, TokenizeDetokenizeAndApplyTemplate) {
  auto res = harness_.post_json("/tokenize", {{"content", "<|im_start|>Aé"}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["tokens"], json({FakeEngine::kImStart, 'A', 0xc3, 0xa9}));

  res = harness_.post_json("/tokenize", {{"content", "<|im_start|>A"},
                                         {"add_special", true},
                                         {"parse_special", false},
                                         {"with_pieces", true}});
  ASSERT_TRUE(res);
  const json pieces = json::parse(res->body)["tokens"];
  ASSERT_EQ(pieces.size(), 14u);
  EXPECT_EQ(pieces[0], (json{{"id", FakeEngine::kBos}, {"piece", "<s>"}}));
  EXPECT_EQ(pieces[1], (json{{"id", '<'}, {"piece", "<"}}));

  res = harness_.post_json("/tokenize", {{"content", "é"}, {"with_pieces", true}});
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["tokens"][0], (json{{"id", 0xc3}, {"piece", {0xc3}}}));

  res = harness_.post_json("/detokenize", {{"tokens", {FakeEngine::kImEnd, 'h', 'i'}}});
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body), (json{{"content", "<|im_end|>hi"}}));

  res = harness_.post_json(
      "/apply-template",
      {{"messages", {{{"role", "user"}, {"content", "Yo"}}}}, {"add_generation_prompt", false}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body), (json{{"prompt", "<|im_start|>user\nYo<|im_end|>\n"}}));
}

TEST(HttpRoutesOptionsTest, ServerTemplateArgsAreDefaultsTheRequestOverrides) {
  auto options = ServerHarness::default_options();
  options.default_template_kwargs = {{"enable_thinking", false}, {"custom", 1}};
  ServerHarness harness({}, options);
  auto res = harness.post_json("/v1/chat/completions", chat_body());
  ASSERT_TRUE(res);
  // Key order is kept: templates may print kwargs.
  EXPECT_EQ(harness.engine().last_render()->template_kwargs.dump(),
            R"({"enable_thinking":false,"custom":1})");
  json body = chat_body();
  body["chat_template_kwargs"] = {{"enable_thinking", true}};
  res = harness.post_json("/v1/chat/completions", body);
  ASSERT_TRUE(res);
  EXPECT_EQ(harness.engine().last_render()->template_kwargs.dump(),
            R"({"enable_thinking":true,"custom":1})");
}

}  // namespace
}  // namespace hearth::test
