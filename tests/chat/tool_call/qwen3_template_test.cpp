// Assistant turns rendered by the real Qwen3 chat template (Python jinja2, see
// tests/fixtures/tool_call/make_qwen3_template_goldens.py): the reasoning parser followed by the
// hermes parser must recover the reasoning, content and tool calls the template encoded, for
// every split of the text into pieces.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chat/reasoning/reasoning_parser.h"
#include "chat/tool_call/split_runner.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using nlohmann::json;

struct Pipeline {
  std::string reasoning;
  ParsedMessage message;
};

Pipeline run(const std::vector<std::string>& pieces, const std::vector<ToolSpec>& tools,
             bool stream) {
  auto reasoning = ReasoningParser::create({});
  EXPECT_TRUE(reasoning.ok());
  ToolCallParserOptions options;
  options.tools = tools;
  options.stream_arguments = stream;
  options.id_seed = 1;
  auto tool_parser = make_tool_call_parser("hermes", options);
  EXPECT_TRUE(tool_parser.ok());
  Pipeline out;
  std::vector<MessageDelta> deltas;
  for (const std::string& piece : pieces) {
    ReasoningDelta r;
    reasoning->feed(piece, r);
    out.reasoning += r.reasoning;
    (*tool_parser)->feed(r.content, deltas);
  }
  ReasoningDelta r;
  reasoning->finish(r);
  out.reasoning += r.reasoning;
  (*tool_parser)->feed(r.content, deltas);
  (*tool_parser)->finish(deltas);
  out.message = test::aggregate(deltas);
  return out;
}

TEST(Qwen3Template, ParsersRecoverWhatTheTemplateRendered) {
  const json golden = json::parse(
      test::read_file_text(test::fixture_path("tool_call/qwen3_template_goldens.json")));
  std::vector<ToolSpec> tools;
  for (const json& t : golden.at("tools")) {
    tools.push_back({t.at("function").at("name"), t.at("function").at("parameters")});
  }
  for (const json& c : golden.at("cases")) {
    const std::string text = c.at("output");
    SCOPED_TRACE(text);
    for (bool stream : {true, false}) {
      const Pipeline whole = run({text}, tools, stream);
      EXPECT_EQ(whole.reasoning, c.at("reasoning").get<std::string>());
      EXPECT_EQ(whole.message.content, c.at("content").get<std::string>());
      ASSERT_EQ(whole.message.tool_calls.size(), c.at("calls").size());
      for (size_t i = 0; i < c.at("calls").size(); ++i) {
        EXPECT_EQ(whole.message.tool_calls[i].name, c.at("calls")[i].at("name"));
        EXPECT_EQ(json::parse(whole.message.tool_calls[i].arguments),
                  c.at("calls")[i].at("arguments"));
      }
      for (size_t cut = 1; cut < text.size(); ++cut) {
        const Pipeline split = run({text.substr(0, cut), text.substr(cut)}, tools, stream);
        ASSERT_EQ(split.reasoning, whole.reasoning) << cut;
        ASSERT_TRUE(test::same_message(split.message, whole.message)) << cut;
      }
    }
  }
}

TEST(Qwen3Template, GenerationPromptsDoNotStartInsideReasoning) {
  const json golden = json::parse(
      test::read_file_text(test::fixture_path("tool_call/qwen3_template_goldens.json")));
  for (const auto& [name, prompt] : golden.at("generation_prompts").items()) {
    EXPECT_EQ(reasoning_start_for_prompt(prompt.get<std::string>(), {}), ReasoningStart::kAuto)
        << name;
  }
  EXPECT_EQ(reasoning_start_for_prompt("<|im_start|>assistant\n<think>\n", {}),
            ReasoningStart::kInReasoning);
}

}  // namespace
}  // namespace hearth
