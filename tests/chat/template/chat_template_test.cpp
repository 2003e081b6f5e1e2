// Finding templates in GGUF metadata and tokenizer_config.json, choosing among named templates
// the way transformers does, and rejecting malformed inputs with errors that name the problem.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "chat/template/chat_template.h"
#include "formats/gguf/gguf_writer.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kDefaultTemplate = "default:{{ messages[0].content }}|{{ tools is none }}";
constexpr const char* kToolTemplate = "tool_use:{{ tools|length }}";

Json one_message() {
  return Json::parse(R"([{"role": "user", "content": "hi"}])");
}

ChatTemplate named_templates() {
  Json config = Json::object();
  config["bos_token"] = {{"__type", "AddedToken"}, {"content", "<s>"}, {"lstrip", false}};
  config["eos_token"] = "</s>";
  config["chat_template"] = Json::array({{{"name", "default"}, {"template", kDefaultTemplate}},
                                         {{"name", "tool_use"}, {"template", kToolTemplate}},
                                         {{"name", "rag"}, {"template", "rag:{{ documents }}"}}});
  auto tmpl = ChatTemplate::from_tokenizer_config(config, "test config");
  EXPECT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  return std::move(tmpl).value();
}

TEST(ChatTemplate, SelectsNamedTemplatesLikeTransformers) {
  const ChatTemplate tmpl = named_templates();
  EXPECT_EQ(tmpl.template_names(), (std::vector<std::string>{"default", "tool_use", "rag"}));
  EXPECT_EQ(tmpl.special_tokens().bos_token, "<s>");
  EXPECT_EQ(tmpl.special_tokens().eos_token, "</s>");

  ChatTemplateInput input;
  input.messages = one_message();
  EXPECT_EQ(tmpl.render(input).value(), "default:hi|True");

  input.tools = Json::array({Json::object(), Json::object()});
  EXPECT_EQ(tmpl.render(input).value(), "tool_use:2");

  input.template_name = "rag";
  EXPECT_EQ(tmpl.render(input).value(), "rag:None");

  input.template_name = "missing";
  auto missing = tmpl.render(input);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("available: default, tool_use, rag"), std::string::npos)
      << missing.status().message();
}

TEST(ChatTemplate, SeveralTemplatesWithoutDefaultNeedAName) {
  Json config = {{"chat_template", Json::array({{{"name", "a"}, {"template", "A"}},
                                                {{"name", "b"}, {"template", "B"}}})}};
  auto tmpl = ChatTemplate::from_tokenizer_config(config, "cfg");
  ASSERT_TRUE(tmpl.ok());
  ChatTemplateInput input;
  input.messages = one_message();
  EXPECT_FALSE(tmpl->render(input).ok());
  input.template_name = "b";
  EXPECT_EQ(tmpl->render(input).value(), "B");
}

TEST(ChatTemplate, KwargsBecomeVariablesAndOverrideSpecialTokens) {
  auto tmpl = ChatTemplate::from_source(
      "{{ bos_token }}|{{ enable_thinking }}|{{ reasoning_effort | default('none') }}",
      ChatSpecialTokens{"<bos>", "<eos>", std::nullopt, std::nullopt});
  ASSERT_TRUE(tmpl.ok());
  EXPECT_EQ(tmpl->render(one_message(), nullptr, true, {{"enable_thinking", false}}).value(),
            "<bos>|False|none");
  EXPECT_EQ(
      tmpl->render(one_message(), nullptr, true,
                   {{"bos_token", "[B]"}, {"reasoning_effort", "high"}, {"enable_thinking", true}})
          .value(),
      "[B]|True|high");
  auto reserved = tmpl->render(one_message(), nullptr, true, {{"messages", Json::array()}});
  ASSERT_FALSE(reserved.ok());
  EXPECT_NE(reserved.status().message().find("'messages'"), std::string::npos);
}

TEST(ChatTemplate, RejectsMalformedInputs) {
  auto tmpl = ChatTemplate::from_source("{{ messages|length }}");
  ASSERT_TRUE(tmpl.ok());
  EXPECT_EQ(tmpl->render(Json::object(), nullptr, true).status().code(),
            StatusCode::kInvalidArgument);
  auto empty = tmpl->render(Json::array(), nullptr, true);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("empty conversation"), std::string::npos);
  auto not_object = tmpl->render(Json::array({"text"}), nullptr, true);
  ASSERT_FALSE(not_object.ok());
  EXPECT_NE(not_object.status().message().find("messages[0]"), std::string::npos);
  EXPECT_FALSE(tmpl->render(one_message(), Json::object(), true).ok());  // tools not a list
  EXPECT_FALSE(tmpl->render(one_message(), nullptr, true, Json::array()).ok());
  const Json bad_utf8 = Json::array({{{"role", "user"}, {"content", std::string("\xff\xfe")}}});
  auto invalid = tmpl->render(bad_utf8, nullptr, true);
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.status().message().find("UTF-8"), std::string::npos);
}

TEST(ChatTemplate, ParseErrorsSurfaceWhenTheTemplateIsUsed) {
  Json config = {
      {"chat_template", Json::array({{{"name", "default"}, {"template", "ok"}},
                                     {{"name", "tool_use"}, {"template", "{% if %}"}}})}};
  auto tmpl = ChatTemplate::from_tokenizer_config(config, "cfg.json");
  ASSERT_TRUE(tmpl.ok());
  EXPECT_EQ(tmpl->render(one_message(), nullptr, true).value(), "ok");
  auto broken = tmpl->render(one_message(), Json::array(), true);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("cfg.json ('tool_use')"), std::string::npos)
      << broken.status().message();
  EXPECT_NE(broken.status().message().find("line 1, column"), std::string::npos);
}

TEST(ChatTemplate, TokenizerConfigErrorsNameTheProblem) {
  auto no_template = ChatTemplate::from_tokenizer_config(Json::object(), "cfg.json");
  ASSERT_FALSE(no_template.ok());
  EXPECT_EQ(no_template.status().code(), StatusCode::kNotFound);
  auto wrong_type = ChatTemplate::from_tokenizer_config({{"chat_template", 3}}, "cfg.json");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("'chat_template' must be"), std::string::npos);
  auto bad_entry = ChatTemplate::from_tokenizer_config(
      {{"chat_template", Json::array({{{"name", "x"}}})}}, "cfg.json");
  ASSERT_FALSE(bad_entry.ok());
  EXPECT_NE(bad_entry.status().message().find("chat_template[0]"), std::string::npos);
  auto bad_token =
      ChatTemplate::from_tokenizer_config({{"chat_template", "x"}, {"bos_token", 1}}, "cfg.json");
  ASSERT_FALSE(bad_token.ok());
  EXPECT_NE(bad_token.status().message().find("'bos_token'"), std::string::npos);

  const std::string path = test::temp_path("broken_tokenizer_config.json");
  std::ofstream(path) << "{not json";
  auto broken = ChatTemplate::from_tokenizer_config_path(path);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("not valid JSON"), std::string::npos);
  EXPECT_EQ(ChatTemplate::from_model_path(test::temp_path("does_not_exist.json")).status().code(),
            StatusCode::kNotFound);
}

TEST(ChatTemplate, ModelDirectoryPrefersChatTemplateJinja) {
  const std::string dir = test::temp_path("model_with_jinja");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/tokenizer_config.json")
      << R"({"chat_template": "from config", "eos_token": "<e>"})";
  std::ofstream(dir + "/chat_template.jinja") << "from file {{ eos_token }}\n";
  auto tmpl = ChatTemplate::from_model_path(dir);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  EXPECT_EQ(tmpl->render(one_message(), nullptr, true).value(), "from file <e>");
}

std::string write_gguf(const std::string& name, bool with_template) {
  GgufWriter writer;
  writer.set_string("general.architecture", "llama");
  writer.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "hello"});
  writer.set_uint32("tokenizer.ggml.bos_token_id", 1);
  writer.set_uint32("tokenizer.ggml.eos_token_id", 2);
  writer.set_uint32("tokenizer.ggml.unknown_token_id", 0);
  if (with_template) {
    writer.set_string("tokenizer.chat_template", "{{ bos_token }}D{{ messages|length }}");
    writer.set_string("tokenizer.chat_template.tool_use", "T{{ tools|length }}{{ eos_token }}");
    writer.set_string_array("tokenizer.chat_templates", {"tool_use"});
  }
  const std::string path = test::temp_path(name);
  EXPECT_TRUE(writer.write(path).ok());
  return path;
}

TEST(ChatTemplate, ReadsDefaultAndNamedTemplatesFromGguf) {
  auto tmpl = ChatTemplate::from_model_path(write_gguf("templates.gguf", true));
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  EXPECT_EQ(tmpl->template_names(), (std::vector<std::string>{"default", "tool_use"}));
  EXPECT_EQ(tmpl->special_tokens().bos_token, "<s>");
  EXPECT_EQ(tmpl->special_tokens().eos_token, "</s>");
  EXPECT_EQ(tmpl->special_tokens().unk_token, "<unk>");
  EXPECT_EQ(tmpl->special_tokens().pad_token, std::nullopt);
  EXPECT_EQ(tmpl->render(one_message(), nullptr, true).value(), "<s>D1");
  EXPECT_EQ(tmpl->render(one_message(), Json::array({1, 2, 3}), true).value(), "T3</s>");
}

TEST(ChatTemplate, GgufWithoutTemplateCanTakeAnOverride) {
  const std::string path = write_gguf("no_template.gguf", false);
  auto missing = ChatTemplate::from_model_path(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("--template"), std::string::npos);
  auto tmpl = ChatTemplate::from_model_path(path, std::string("{{ bos_token }}x"));
  ASSERT_TRUE(tmpl.ok());
  EXPECT_EQ(tmpl->render(one_message(), nullptr, true).value(), "<s>x");
}

TEST(ChatTemplate, GgufTemplateOfTheWrongTypeIsAnError) {
  GgufWriter writer;
  writer.set_uint32("tokenizer.chat_template", 7);
  const std::string path = test::temp_path("bad_template_type.gguf");
  ASSERT_TRUE(writer.write(path).ok());
  auto tmpl = ChatTemplate::from_model_path(path);
  ASSERT_FALSE(tmpl.ok());
  EXPECT_NE(tmpl.status().message().find("'tokenizer.chat_template' must be a string"),
            std::string::npos)
      << tmpl.status().message();
}

}  // namespace
}  // namespace hearth
