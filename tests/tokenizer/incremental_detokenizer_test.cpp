// Streaming detokenization: every piece is valid UTF-8 and the pieces add up to decode(), for
// real text and for arbitrary id sequences (split characters, byte tokens, special tokens).
#include "tokenizer/incremental_detokenizer.h"

#include <gtest/gtest.h>

#include <random>

#include "real_tokenizers.h"
#include "tokenizer/utf8.h"

namespace hearth {
namespace {

std::string stream_all(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  IncrementalDetokenizer stream(tok, skip_special);
  std::string out;
  for (int32_t id : ids) {
    const std::string piece = stream.push(id);
    EXPECT_FALSE(utf8::find_invalid(piece).has_value()) << "invalid UTF-8 piece";
    out += piece;
  }
  const std::string tail = stream.finish();
  EXPECT_FALSE(utf8::find_invalid(tail).has_value());
  return out + tail;
}

TEST(IncrementalDetokenizerTest, RandomIdsStreamToTheFullDecode) {
  for (const std::string& name : test::kRealTokenizers) {
    HEARTH_REQUIRE_TOKENIZER(tok, name);
    std::mt19937 rng(42);
    std::uniform_int_distribution<int32_t> any_id(-2, tok->vocab_size() + 1);
    // Byte tokens and low ids (where control and byte tokens live) are drawn more often.
    std::uniform_int_distribution<int32_t> low_id(0, 600);
    for (int round = 0; round < 300; ++round) {
      std::vector<int32_t> ids(static_cast<size_t>(1 + round % 40));
      for (int32_t& id : ids) id = (rng() % 3 == 0) ? low_id(rng) : any_id(rng);
      for (bool skip : {false, true}) {
        ASSERT_EQ(stream_all(*tok, ids, skip), tok->decode(ids, skip))
            << name << " round " << round;
      }
    }
  }
}

TEST(IncrementalDetokenizerTest, HoldsACharacterSplitAcrossTokens) {
  for (const std::string& name : test::kRealTokenizers) {
    HEARTH_REQUIRE_TOKENIZER(tok, name);
    // A private-use character no vocabulary has whole: byte-level vocabularies split it into
    // byte tokens of its UTF-8, SentencePiece falls back to <0xNN> tokens.
    const std::string ch = "\xF3\xB0\x80\x81";  // U+F0001
    const auto ids = tok->encode("a" + ch + "b", {.add_special = false});
    ASSERT_GE(ids.size(), 4u) << name;
    IncrementalDetokenizer stream(*tok);
    std::string out;
    bool held = false;
    for (size_t i = 0; i < ids.size(); ++i) {
      const std::string piece = stream.push(ids[i]);
      EXPECT_FALSE(utf8::find_invalid(piece).has_value());
      held = held || stream.has_pending();
      out += piece;
      // The character never appears in part.
      EXPECT_TRUE(out.find(ch) != std::string::npos || out.find('\xF3') == std::string::npos);
    }
    EXPECT_TRUE(held) << name << " never held back part of a character";
    out += stream.finish();
    EXPECT_EQ(out, "a" + ch + "b") << name;
  }
}

TEST(IncrementalDetokenizerTest, UnfinishedCharacterBecomesReplacementAtFinish) {
  HEARTH_REQUIRE_TOKENIZER(tok, "qwen3");
  const auto ids = tok->encode("\xF3\xB0\x80\x81", {.add_special = false});
  ASSERT_GE(ids.size(), 2u);
  const std::vector<int32_t> head(ids.begin(), ids.end() - 1);
  IncrementalDetokenizer stream(*tok);
  std::string out;
  for (int32_t id : head) out += stream.push(id);
  EXPECT_EQ(out, "");
  EXPECT_EQ(stream.finish(), std::string(utf8::kReplacementChar));
  EXPECT_EQ(tok->decode(head), std::string(utf8::kReplacementChar));
}

}  // namespace
}  // namespace hearth
