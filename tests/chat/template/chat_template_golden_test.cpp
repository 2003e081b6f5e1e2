// Real chat templates (Qwen3, Llama 3, SmolLM2, Gemma 3) over ~78 conversations each, compared
// byte for byte with transformers' apply_chat_template as mirrored by Python jinja2. Goldens:
// tests/fixtures/chat/chat_template_goldens.json from make_chat_goldens.py (which cross-checks
// its reference against transformers itself with --check-transformers).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "chat/jinja/test_clock.h"
#include "chat/template/chat_template.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using Json = nlohmann::ordered_json;

const Json& goldens() {
  static const Json json = [] {
    const std::string text =
        test::read_file_text(test::fixture_path("chat/chat_template_goldens.json"));
    return text.empty() ? Json::object() : Json::parse(text);
  }();
  return json;
}

std::optional<std::string> optional_string(const Json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<std::string>();
}

ChatSpecialTokens golden_tokens(const Json& t) {
  const Json& s = t.at("special_tokens");
  return {optional_string(s.at("bos_token")), optional_string(s.at("eos_token")),
          optional_string(s.at("unk_token")), optional_string(s.at("pad_token"))};
}

ChatTemplateInput input_for(const Json& conversation) {
  ChatTemplateInput input;
  input.messages = conversation.at("messages");
  input.tools = conversation.at("tools");
  input.add_generation_prompt = conversation.at("add_generation_prompt").get<bool>();
  input.kwargs = conversation.at("kwargs");
  return input;
}

// Renders every conversation with `tmpl` and compares with the template's goldens.
void expect_matches_goldens(const ChatTemplate& tmpl, const std::string& template_name) {
  const Json& t = goldens().at("templates").at(template_name);
  const Json& conversations = goldens().at("conversations");
  ASSERT_EQ(conversations.size(), t.at("cases").size());
  jinja::RenderOptions options;
  options.clock = jinja::golden_clock();
  size_t rendered = 0;
  for (size_t i = 0; i < conversations.size(); ++i) {
    const Json& golden = t.at("cases")[i];
    const std::string name = golden.at("name").get<std::string>();
    SCOPED_TRACE(template_name + " / " + name);
    auto result = tmpl.render(input_for(conversations[i]), options);
    if (golden.contains("output")) {
      ASSERT_TRUE(result.ok()) << result.status().to_string();
      EXPECT_EQ(*result, golden.at("output").get<std::string>());
      ++rendered;
    } else {
      ASSERT_FALSE(result.ok()) << "jinja2 raised " << golden.at("message") << "; hearth gave\n"
                                << *result;
      if (golden.at("error") == "raised") {
        EXPECT_EQ(result.status().message(), golden.at("message").get<std::string>());
      }
    }
  }
  EXPECT_GE(rendered, 40u) << "too few successful renders to be meaningful";
}

class ChatGoldenTest : public ::testing::TestWithParam<std::string> {};

// The template text stored with the goldens: runs even without ../shared or the models.
TEST_P(ChatGoldenTest, EmbeddedTemplateMatchesTransformers) {
  ASSERT_TRUE(goldens().contains("templates")) << "chat_template_goldens.json missing";
  const Json& t = goldens().at("templates").at(GetParam());
  auto tmpl = ChatTemplate::from_source(t.at("source").get<std::string>(), golden_tokens(t));
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  expect_matches_goldens(*tmpl, GetParam());
}

INSTANTIATE_TEST_SUITE_P(RealTemplates, ChatGoldenTest,
                         ::testing::Values("probe", "qwen3", "llama3", "smollm2", "gemma3"));

// Loads the template where hearth finds it in practice and checks it is the golden's text.
void expect_loaded_as_golden(const ChatTemplate& tmpl, const std::string& name) {
  const Json& t = goldens().at("templates").at(name);
  ASSERT_NE(tmpl.source(), nullptr);
  EXPECT_EQ(*tmpl.source(), t.at("source").get<std::string>()) << "template text changed";
  const ChatSpecialTokens expected = golden_tokens(t);
  EXPECT_EQ(tmpl.special_tokens().bos_token, expected.bos_token);
  EXPECT_EQ(tmpl.special_tokens().eos_token, expected.eos_token);
  EXPECT_EQ(tmpl.special_tokens().unk_token, expected.unk_token);
  EXPECT_EQ(tmpl.special_tokens().pad_token, expected.pad_token);
  expect_matches_goldens(tmpl, name);
}

TEST(ChatGoldenSources, Qwen3FromTokenizerConfig) {
  HEARTH_REQUIRE_PATH(dir, test::shared_tokenizer_dir("qwen3"), "../shared/tokenizers/qwen3");
  auto tmpl = ChatTemplate::from_model_path(dir);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  expect_loaded_as_golden(*tmpl, "qwen3");
}

TEST(ChatGoldenSources, Llama3FromTokenizerConfig) {
  HEARTH_REQUIRE_PATH(dir, test::shared_tokenizer_dir("llama3"), "../shared/tokenizers/llama3");
  auto tmpl = ChatTemplate::from_model_path(dir + "/tokenizer_config.json");
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  expect_loaded_as_golden(*tmpl, "llama3");
}

TEST(ChatGoldenSources, SmolLM2FromGguf) {
  HEARTH_REQUIRE_PATH(model, test::default_model_path(), "SmolLM2-135M-Instruct GGUF");
  auto tmpl = ChatTemplate::from_model_path(model);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  expect_loaded_as_golden(*tmpl, "smollm2");
}

TEST(ChatGoldenSources, Gemma3GgufHasNoTemplateSoTheFixtureIsUsed) {
  HEARTH_REQUIRE_PATH(model, test::gemma3_model_path(), "Gemma 3 270M GGUF");
  auto missing = ChatTemplate::from_model_path(model);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("tokenizer.chat_template"), std::string::npos);

  const std::string source =
      test::read_file_text(test::fixture_path("chat/templates/gemma3.jinja"));
  ASSERT_FALSE(source.empty());
  auto tmpl = ChatTemplate::from_model_path(model, source);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  expect_loaded_as_golden(*tmpl, "gemma3");
}

TEST(ChatGoldenFile, CoversTheRequiredConversations) {
  ASSERT_TRUE(goldens().contains("conversations"));
  const Json& conversations = goldens().at("conversations");
  EXPECT_GE(conversations.size(), 40u);
  bool tools = false, tool_calls_object = false, tool_calls_string = false, tool_results = false;
  bool consecutive_tools = false, reasoning = false, think_off = false, think_on = false;
  bool no_gen = false, gen = false, system = false, unicode = false;
  for (const Json& c : conversations) {
    tools = tools || !c.at("tools").is_null();
    gen = gen || c.at("add_generation_prompt").get<bool>();
    no_gen = no_gen || !c.at("add_generation_prompt").get<bool>();
    if (c.at("kwargs").contains("enable_thinking")) {
      (c.at("kwargs").at("enable_thinking").get<bool>() ? think_on : think_off) = true;
    }
    std::string previous_role;
    for (const Json& m : c.at("messages")) {
      const std::string role = m.at("role").get<std::string>();
      system = system || role == "system";
      reasoning = reasoning || m.contains("reasoning_content");
      tool_results = tool_results || role == "tool";
      consecutive_tools = consecutive_tools || (role == "tool" && previous_role == "tool");
      previous_role = role;
      if (m.contains("tool_calls")) {
        for (const Json& call : m.at("tool_calls")) {
          const Json& f = call.contains("function") ? call.at("function") : call;
          (f.at("arguments").is_string() ? tool_calls_string : tool_calls_object) = true;
        }
      }
      if (m.at("content").is_string()) {
        for (const unsigned char ch : m.at("content").get<std::string>())
          unicode = unicode || ch >= 0x80;
      }
    }
  }
  EXPECT_TRUE(tools && tool_calls_object && tool_calls_string && tool_results && consecutive_tools);
  EXPECT_TRUE(reasoning && think_off && think_on && no_gen && gen && system && unicode);
}

}  // namespace
}  // namespace hearth
