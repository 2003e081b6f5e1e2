// UTF-8 repair against the Unicode Standard's own examples (chapter 3, "U+FFFD Substitution of
// Maximal Subparts"), which Python's "replace" error handler and Rust's from_utf8_lossy follow.
#include "tokenizer/utf8.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

const std::string kFffd(utf8::kReplacementChar);

TEST(Utf8Test, SanitizeReplacesMaximalSubparts) {
  // Table 3-8 of the Unicode Standard.
  EXPECT_EQ(utf8::sanitize("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            "a" + kFffd + kFffd + kFffd + "b" + kFffd + "c" + kFffd + kFffd + "d");
  // Tables 3-9 to 3-11: non-shortest forms, surrogates and out-of-range lead bytes are replaced
  // byte by byte.
  EXPECT_EQ(utf8::sanitize("\xC0\xAF\xE0\x80\xBF\xF0\x81\x82\x41"),
            kFffd + kFffd + kFffd + kFffd + kFffd + kFffd + kFffd + kFffd + "A");
  EXPECT_EQ(utf8::sanitize("\xED\xA0\x80\xED\xBF\xBF\xED\xAF\x41"),
            kFffd + kFffd + kFffd + kFffd + kFffd + kFffd + kFffd + kFffd + "A");
  EXPECT_EQ(utf8::sanitize("\xF4\x91\x92\x93\xFF\x41\x80\xBF\x42"),
            kFffd + kFffd + kFffd + kFffd + kFffd + "A" + kFffd + kFffd + "B");
  // Table 3-12: truncated sequences are one replacement each.
  EXPECT_EQ(utf8::sanitize("\xE1\x80\xE2\xF0\x91\x92\xF1\xBF\x41"),
            kFffd + kFffd + kFffd + kFffd + "A");
}

TEST(Utf8Test, ValidTextIsUnchanged) {
  const std::string text = "plain ascii, caf\xC3\xA9, \xE4\xBD\xA0\xE5\xA5\xBD, \xF0\x9F\x98\x80";
  EXPECT_FALSE(utf8::find_invalid(text).has_value());
  EXPECT_EQ(utf8::sanitize(text), text);
  EXPECT_EQ(utf8::count_code_points(text), 24u);
}

TEST(Utf8Test, FindInvalidReportsTheFirstBadByte) {
  EXPECT_EQ(utf8::find_invalid("ok\xC3\xA9\xFFmore"), std::optional<size_t>(4));
  EXPECT_EQ(utf8::find_invalid("\xE2\x82"), std::optional<size_t>(0));
}

TEST(Utf8Test, AppendLossyHoldsAnIncompleteTailUntilFinal) {
  std::string out;
  // "é" split after its lead byte: nothing can be emitted for it yet.
  EXPECT_EQ(utf8::append_lossy("ab\xC3", /*final=*/false, out), 2u);
  EXPECT_EQ(out, "ab");
  out.clear();
  EXPECT_EQ(utf8::append_lossy("\xC3\xA9", false, out), 2u);
  EXPECT_EQ(out, "\xC3\xA9");
  // An invalid byte is replaced at once; a tail that cannot be completed is replaced at the end.
  out.clear();
  EXPECT_EQ(utf8::append_lossy("\xFF\xF0\x9F", false, out), 1u);
  EXPECT_EQ(out, kFffd);
  out.clear();
  EXPECT_EQ(utf8::append_lossy("\xF0\x9F", true, out), 2u);
  EXPECT_EQ(out, kFffd);
}

TEST(Utf8Test, DecodeAndAppendRoundTrip) {
  for (char32_t cp : {U'A', U'\u00e9', U'\u4e00', U'\U0001F600', U'\U0010FFFF'}) {
    std::string s;
    utf8::append(cp, s);
    size_t pos = 0;
    EXPECT_EQ(utf8::decode_at(s, pos), cp);
    EXPECT_EQ(pos, s.size());
  }
}

}  // namespace
}  // namespace hearth
