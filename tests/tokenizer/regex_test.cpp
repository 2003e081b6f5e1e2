// The PCRE2 wrapper behaves like the Oniguruma engine Hugging Face tokenizers uses, on the points
// where the two differ (expectations from Oniguruma's White_Space-based \s).
#include "tokenizer/regex.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace hearth {
namespace {

std::vector<std::pair<size_t, size_t>> matches(const Regex& re, std::string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  re.for_each_match(text, [&](size_t b, size_t e) { out.emplace_back(b, e); });
  return out;
}

TEST(RegexTest, WhitespaceIsTheWhiteSpaceProperty) {
  auto re = Regex::compile(R"(\s+)");
  ASSERT_TRUE(re.ok()) << re.status().to_string();
  // U+180E MONGOLIAN VOWEL SEPARATOR is not White_Space (Unicode 6.3+); U+3000 and U+0085 are.
  EXPECT_TRUE(matches(*re,
                      "a\xE1\xA0\x8E"
                      "b")
                  .empty());
  EXPECT_EQ(matches(*re,
                    "a\xE3\x80\x80\xC2\x85"
                    "b"),
            (std::vector<std::pair<size_t, size_t>>{{1, 6}}));
  auto not_space = Regex::compile(R"(\S+)");
  ASSERT_TRUE(not_space.ok());
  EXPECT_EQ(matches(*not_space, "\xE1\xA0\x8E x"),
            (std::vector<std::pair<size_t, size_t>>{{0, 3}, {4, 5}}));
}

TEST(RegexTest, TranslatesWhitespaceInsideAndOutsideClasses) {
  const std::string translated = to_pcre2_pattern(R"([^\s\p{L}]\s(?!\S)[\]\s])");
  EXPECT_EQ(translated.find("\\s"), std::string::npos) << translated;
  EXPECT_EQ(translated.find("\\S"), std::string::npos) << translated;
  EXPECT_NE(translated.find("\\p{L}"), std::string::npos) << translated;
  EXPECT_EQ(to_pcre2_pattern(R"(\p{N}{1,3}|'s)"), R"(\p{N}{1,3}|'s)");
}

TEST(RegexTest, CaselessContractionsFoldLikeOniguruma) {
  // Hugging Face's (?i:'s) matches "'ſ" (U+017F folds to s) as well as "'S".
  auto re = Regex::compile(R"((?i:'s|'t))");
  ASSERT_TRUE(re.ok());
  EXPECT_EQ(matches(*re, "it'\xC5\xBF").size(), 1u);
  EXPECT_EQ(matches(*re, "IT'S 'T").size(), 2u);
}

TEST(RegexTest, EmptyMatchesAdvanceOneCodePoint) {
  auto re = Regex::compile("x*");
  ASSERT_TRUE(re.ok());
  // Like Oniguruma's iterator: no empty match right after a match.
  EXPECT_EQ(matches(*re, "\xC3\xA9xx\xC3\xA9"),
            (std::vector<std::pair<size_t, size_t>>{{0, 0}, {2, 4}, {6, 6}}));
}

TEST(RegexTest, CompileErrorNamesThePattern) {
  auto re = Regex::compile("(unclosed");
  ASSERT_FALSE(re.ok());
  EXPECT_NE(re.status().message().find("(unclosed"), std::string::npos) << re.status().message();
}

TEST(RegexTest, LongRunsDoNotExhaustTheMatcher) {
  auto re = Regex::compile(R"(\s+(?!\S)|\s+)");
  ASSERT_TRUE(re.ok());
  const std::string spaces(1 << 20, ' ');
  EXPECT_EQ(matches(*re, spaces + "x"),
            (std::vector<std::pair<size_t, size_t>>{{0, spaces.size() - 1},
                                                    {spaces.size() - 1, spaces.size()}}));
}

}  // namespace
}  // namespace hearth
