#include "chat/tool_call/tool_call_registry.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace hearth {
namespace {

TEST(ToolCallRegistry, MakesEveryNamedParserAndAliases) {
  for (std::string_view name : tool_call_parser_names()) {
    auto parser = make_tool_call_parser(name, {});
    ASSERT_TRUE(parser.ok()) << name;
    EXPECT_EQ((*parser)->name(), name);
  }
  EXPECT_EQ((*make_tool_call_parser("qwen3", {}))->name(), "hermes");
  EXPECT_EQ((*make_tool_call_parser("qwen3_xml", {}))->name(), "qwen3_coder");
  EXPECT_EQ((*make_tool_call_parser("llama3", {}))->name(), "llama3_json");
}

TEST(ToolCallRegistry, UnknownNameListsTheKnownOnes) {
  auto parser = make_tool_call_parser("pythonic", {});
  ASSERT_FALSE(parser.ok());
  EXPECT_NE(parser.status().message().find("pythonic"), std::string::npos);
  EXPECT_NE(parser.status().message().find("hermes, qwen3_coder, llama3_json, mistral"),
            std::string::npos);
}

TEST(ToolCallRegistry, DetectsTheRealQwen3Template) {
  HEARTH_REQUIRE_PATH(dir, test::shared_tokenizer_dir("qwen3"), "shared qwen3 tokenizer");
  const auto config = nlohmann::json::parse(test::read_file_text(dir + "/tokenizer_config.json"));
  EXPECT_EQ(detect_tool_call_parser(config.at("chat_template").get<std::string>()), "hermes");
}

TEST(ToolCallRegistry, TheRealLlama3TemplateWithoutToolsHasNoParser) {
  HEARTH_REQUIRE_PATH(dir, test::shared_tokenizer_dir("llama3"), "shared llama3 tokenizer");
  const auto config = nlohmann::json::parse(test::read_file_text(dir + "/tokenizer_config.json"));
  EXPECT_EQ(detect_tool_call_parser(config.at("chat_template").get<std::string>()), std::nullopt);
}

TEST(ToolCallRegistry, DetectsMarkersOfOtherTemplates) {
  // Excerpts of how each family's template renders a tool call.
  EXPECT_EQ(detect_tool_call_parser("{{- '<tool_call>\\n<function=' + tool_call.name + '>\\n' }}"
                                    "{{- '<parameter=' + args_name + '>\\n' }}"),
            "qwen3_coder");
  EXPECT_EQ(detect_tool_call_parser("{{- \"[TOOL_CALLS]\" + tool.function.name + \"[ARGS]\" }}"),
            "mistral");
  EXPECT_EQ(detect_tool_call_parser("{{- '<|start_header_id|>ipython<|end_header_id|>\\n\\n' }}"),
            "llama3_json");
  EXPECT_EQ(detect_tool_call_parser("{{- '<|python_tag|>' + tool_call.name }}"), "llama3_json");
  EXPECT_EQ(detect_tool_call_parser("{{ bos_token }}{% for m in messages %}{{ m.content }}"),
            std::nullopt);
}

}  // namespace
}  // namespace hearth
