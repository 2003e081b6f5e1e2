// Stop conditions: stop strings are held back while they may still match and the emitted text
// is exactly the text before the first stop string, however the text is split into tokens.
#include "runtime/sampler/stop_matcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hearth {
namespace {

constexpr int32_t kEos = 2;
constexpr int32_t kText = 100;

struct RunResult {
  std::string text;
  FinishReason reason = FinishReason::kNone;
  std::string matched;
  int64_t tokens = 0;
};

// Feeds `pieces` as consecutive tokens (then flushes if generation did not finish).
RunResult run(const StopConfig& config, const std::vector<std::string>& pieces,
              std::vector<std::string>* emitted = nullptr) {
  auto matcher = StopMatcher::create(config);
  EXPECT_TRUE(matcher.ok()) << matcher.status().to_string();
  RunResult result;
  for (const std::string& piece : pieces) {
    const StopStep step = matcher->on_token(piece == "<eos>" ? kEos : kText, piece);
    result.text += step.text;
    if (emitted) emitted->push_back(step.text);
    if (step.finished) {
      result.reason = step.reason;
      result.matched = step.matched_stop_string;
      result.tokens = matcher->tokens_seen();
      return result;
    }
  }
  result.text += matcher->flush().text;
  result.tokens = matcher->tokens_seen();
  return result;
}

// Every way of cutting `text` into consecutive pieces at most 3 cuts, plus byte-by-byte.
std::vector<std::vector<std::string>> splits(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  out.push_back({text});
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  out.push_back(bytes);
  const size_t n = text.size();
  for (size_t a = 1; a < n; ++a) {
    out.push_back({text.substr(0, a), text.substr(a)});
    for (size_t b = a + 1; b < n; ++b) {
      out.push_back({text.substr(0, a), text.substr(a, b - a), text.substr(b)});
    }
  }
  return out;
}

struct StopCase {
  std::string text;
  std::vector<std::string> stops;
  std::string expected_text;
  FinishReason expected_reason;
  std::string expected_match;
};

TEST(StopMatcher, EmittedTextIsTheTextBeforeTheFirstStopForEverySplit) {
  const std::vector<StopCase> cases = {
      {"Hello world", {"world"}, "Hello ", FinishReason::kStop, "world"},
      {"Hello world", {"xyz"}, "Hello world", FinishReason::kNone, ""},
      {"abcabd", {"abd"}, "abc", FinishReason::kStop, "abd"},
      {"aaab", {"aab"}, "a", FinishReason::kStop, "aab"},
      {"one\n\nUser: hi", {"\nUser:", "\n\n"}, "one", FinishReason::kStop, "\n\n"},
      {"xEND and END", {"END"}, "x", FinishReason::kStop, "END"},
      {"prefix </s", {"</stop>"}, "prefix </s", FinishReason::kNone, ""},
      {"ab", {"ab", "b"}, "", FinishReason::kStop, "ab"},
      {"xab", {"b", "ab"}, "x", FinishReason::kStop, "ab"},
      {"caf\xC3\xA9 \xE2\x9C\x93 done",
       {"\xE2\x9C\x93"},
       "caf\xC3\xA9 ",
       FinishReason::kStop,
       "\xE2\x9C\x93"},
      {"no stops at all", {}, "no stops at all", FinishReason::kNone, ""},
  };
  for (const StopCase& c : cases) {
    StopConfig config;
    config.stop_strings = c.stops;
    for (const auto& pieces : splits(c.text)) {
      const RunResult r = run(config, pieces);
      ASSERT_EQ(r.text, c.expected_text)
          << "text '" << c.text << "' in " << pieces.size() << " pieces";
      ASSERT_EQ(r.reason, c.expected_reason) << c.text;
      ASSERT_EQ(r.matched, c.expected_match) << c.text;
    }
  }
}

TEST(StopMatcher, PartialMatchIsHeldThenReleased) {
  StopConfig config;
  config.stop_strings = {"STOP"};
  std::vector<std::string> emitted;
  const RunResult r = run(config, {"go ST", "O", "P!"}, &emitted);
  EXPECT_EQ(r.reason, FinishReason::kStop);
  ASSERT_EQ(emitted.size(), 3u);
  EXPECT_EQ(emitted[0], "go ");  // "ST" held: it may become STOP
  EXPECT_EQ(emitted[1], "");     // "STO" still held
  EXPECT_EQ(emitted[2], "");     // "STOP" completes: nothing more
  EXPECT_EQ(r.text, "go ");      // "STOP" completed: stopped
}

TEST(StopMatcher, ReleasesHeldTextWhenTheMatchBreaks) {
  StopConfig config;
  config.stop_strings = {"STOP"};
  std::vector<std::string> emitted;
  const RunResult r = run(config, {"go ST", "OR", "M"}, &emitted);
  EXPECT_EQ(emitted[0], "go ");
  EXPECT_EQ(emitted[1], "STOR");
  EXPECT_EQ(r.text, "go STORM");
  EXPECT_EQ(r.reason, FinishReason::kNone);
}

TEST(StopMatcher, StopTokenEndsWithoutItsTextAndReleasesHeldText) {
  StopConfig config;
  config.stop_token_ids = {kEos};
  config.stop_strings = {"Hello!"};
  const RunResult r = run(config, {"Hel", "<eos>", "ignored"});
  EXPECT_EQ(r.text, "Hel");
  EXPECT_EQ(r.reason, FinishReason::kStop);
  EXPECT_EQ(r.tokens, 2);
}

TEST(StopMatcher, MaxTokensEndsWithLengthAndReleasesHeldText) {
  StopConfig config;
  config.max_tokens = 3;
  config.stop_strings = {"xyz"};
  const RunResult r = run(config, {"a", "b", "x", "y", "z"});
  EXPECT_EQ(r.text, "abx");
  EXPECT_EQ(r.reason, FinishReason::kLength);
  EXPECT_EQ(r.tokens, 3);
}

TEST(StopMatcher, StopStringOnTheLastAllowedTokenIsStopNotLength) {
  StopConfig config;
  config.max_tokens = 2;
  config.stop_strings = {"b"};
  const RunResult r = run(config, {"a", "b"});
  EXPECT_EQ(r.text, "a");
  EXPECT_EQ(r.reason, FinishReason::kStop);
}

TEST(StopMatcher, CallsAfterFinishingEmitNothing) {
  auto matcher = StopMatcher::create({{kEos}, {}, -1});
  ASSERT_TRUE(matcher.ok());
  EXPECT_TRUE(matcher->on_token(kEos, "").finished);
  const StopStep after = matcher->on_token(kText, "more");
  EXPECT_TRUE(after.finished);
  EXPECT_EQ(after.text, "");
}

TEST(StopMatcher, RejectsEmptyStopStringsAndBadLimits) {
  StopConfig empty;
  empty.stop_strings = {"ok", ""};
  auto a = StopMatcher::create(empty);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("stop string 1 is empty"), std::string::npos);
  StopConfig zero;
  zero.max_tokens = 0;
  EXPECT_FALSE(StopMatcher::create(zero).ok());
  StopConfig negative;
  negative.max_tokens = -5;
  EXPECT_FALSE(StopMatcher::create(negative).ok());
}

TEST(StopMatcher, FinishReasonNamesAreOpenAis) {
  EXPECT_EQ(finish_reason_name(FinishReason::kStop), "stop");
  EXPECT_EQ(finish_reason_name(FinishReason::kLength), "length");
  EXPECT_EQ(finish_reason_name(FinishReason::kNone), "");
}

}  // namespace
}  // namespace hearth
