// Reasoning / content split, table-driven, for every way of splitting the output into pieces:
// no partial marker ever reaches either channel and the result does not depend on the split.
#include "chat/reasoning/reasoning_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hearth {
namespace {

struct Result {
  std::string reasoning;
  std::string content;
};

Result run(const ReasoningOptions& options, const std::vector<std::string>& pieces,
           std::vector<ReasoningDelta>* deltas = nullptr) {
  auto parser = ReasoningParser::create(options);
  EXPECT_TRUE(parser.ok());
  Result r;
  for (const std::string& piece : pieces) {
    ReasoningDelta d;
    parser->feed(piece, d);
    r.reasoning += d.reasoning;
    r.content += d.content;
    if (deltas) deltas->push_back(d);
  }
  ReasoningDelta d;
  parser->finish(d);
  r.reasoning += d.reasoning;
  r.content += d.content;
  return r;
}

std::vector<std::vector<std::string>> splits(const std::string& text) {
  std::vector<std::vector<std::string>> out{{text}};
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  out.push_back(bytes);
  for (size_t a = 1; a < text.size(); ++a) {
    out.push_back({text.substr(0, a), text.substr(a)});
    for (size_t b = a + 1; b < text.size(); b += 3) {
      out.push_back({text.substr(0, a), text.substr(a, b - a), text.substr(b)});
    }
  }
  return out;
}

struct Case {
  ReasoningStart start;
  std::string text;
  std::string reasoning;
  std::string content;
};

TEST(ReasoningParser, SplitsReasoningFromContentForEverySplit) {
  const std::vector<Case> cases = {
      {ReasoningStart::kAuto, "<think>\nStep 1.\nStep 2.\n</think>\n\nThe answer is 4.",
       "Step 1.\nStep 2.", "The answer is 4."},
      {ReasoningStart::kAuto, "  \n<think>x</think>y", "x", "y"},
      {ReasoningStart::kAuto, "The answer is 4.", "", "The answer is 4."},
      {ReasoningStart::kAuto, "\n\nHello <think>not reasoning</think>", "",
       "\n\nHello <think>not reasoning</think>"},
      {ReasoningStart::kAuto, "<thin", "", "<thin"},
      {ReasoningStart::kAuto, "<think>\n\n</think>\n\nOnly content.", "", "Only content."},
      {ReasoningStart::kAuto, "<think>cut off mid </thi", "cut off mid </thi", ""},
      {ReasoningStart::kAuto, "<think>a </thinker> b</think>c</think>d", "a </thinker> b",
       "c</think>d"},
      {ReasoningStart::kInReasoning, "Let me think.\n</think>\n\nDone.", "Let me think.", "Done."},
      {ReasoningStart::kInReasoning, "<think>\nrepeated start\n</think>ok", "repeated start", "ok"},
      {ReasoningStart::kInReasoning, "no end marker at all  \n", "no end marker at all", ""},
      {ReasoningStart::kInReasoning, "</think>direct", "", "direct"},
      {ReasoningStart::kDisabled, "<think>kept</think> as is", "", "<think>kept</think> as is"},
      {ReasoningStart::kAuto, "<think>caf\xC3\xA9 \xE2\x9C\x93</think>\xF0\x9F\x98\x80",
       "caf\xC3\xA9 \xE2\x9C\x93", "\xF0\x9F\x98\x80"},
  };
  for (const Case& c : cases) {
    ReasoningOptions options;
    options.start = c.start;
    for (const auto& pieces : splits(c.text)) {
      const Result r = run(options, pieces);
      ASSERT_EQ(r.reasoning, c.reasoning) << c.text << " in " << pieces.size() << " pieces";
      ASSERT_EQ(r.content, c.content) << c.text << " in " << pieces.size() << " pieces";
    }
  }
}

TEST(ReasoningParser, NeverEmitsAPartialEndMarker) {
  std::vector<ReasoningDelta> deltas;
  run({}, {"<think>abc </", "thi", "nk>", "x"}, &deltas);
  ASSERT_EQ(deltas.size(), 4u);
  EXPECT_EQ(deltas[0].reasoning, "abc");  // " </" held
  EXPECT_EQ(deltas[1].reasoning, "");
  EXPECT_EQ(deltas[1].content, "");
  EXPECT_EQ(deltas[2].reasoning, "");  // marker completed: the held space was trailing
  EXPECT_EQ(deltas[3].content, "x");
}

TEST(ReasoningParser, CustomMarkers) {
  ReasoningOptions options;
  options.start_marker = "<|channel|>analysis<|message|>";
  options.end_marker = "<|end|>";
  for (const auto& pieces : splits("<|channel|>analysis<|message|>hmm<|end|>final")) {
    const Result r = run(options, pieces);
    ASSERT_EQ(r.reasoning, "hmm");
    ASSERT_EQ(r.content, "final");
  }
}

TEST(ReasoningParser, RejectsEmptyMarkers) {
  ReasoningOptions options;
  options.end_marker = "";
  EXPECT_FALSE(ReasoningParser::create(options).ok());
}

TEST(ReasoningParser, StartDetectedFromThePrompt) {
  const ReasoningOptions options;
  EXPECT_EQ(reasoning_start_for_prompt("<|im_start|>assistant\n<think>\n", options),
            ReasoningStart::kInReasoning);
  EXPECT_EQ(reasoning_start_for_prompt("<|im_start|>assistant\n<think>\n\n</think>\n\n", options),
            ReasoningStart::kAuto);
  EXPECT_EQ(reasoning_start_for_prompt("<|im_start|>assistant\n", options), ReasoningStart::kAuto);
}

}  // namespace
}  // namespace hearth
