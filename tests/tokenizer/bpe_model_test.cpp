// The merge engine on tiny hand-made vocabularies, with expectations worked out by hand from the
// BPE rules (lowest rank first, leftmost among equals; byte fallback; unknown tokens).
#include "tokenizer/bpe_model.h"

#include <gtest/gtest.h>

#include "tokenizer/sentencepiece_merges.h"

namespace hearth {
namespace {

BpeModel make(std::vector<std::string> tokens,
              const std::vector<std::pair<std::string, std::string>>& merges,
              BpeOptions options = {}) {
  auto resolved = BpeModel::resolve_merges(tokens, merges);
  EXPECT_TRUE(resolved.ok()) << resolved.status().to_string();
  auto model = BpeModel::build(std::move(tokens), *resolved, options);
  EXPECT_TRUE(model.ok()) << model.status().to_string();
  return std::move(model).value();
}

std::vector<int32_t> tokenize(const BpeModel& model, std::string_view piece) {
  std::vector<int32_t> out;
  model.tokenize(piece, out);
  return out;
}

// ids:                                  0    1    2    3     4     5
const std::vector<std::string> kAbc = {"a", "b", "c", "ab", "bc", "abc"};

TEST(BpeModelTest, LowestRankMergesFirst) {
  const BpeModel bc_first = make(kAbc, {{"b", "c"}, {"a", "b"}});
  EXPECT_EQ(tokenize(bc_first, "abc"), (std::vector<int32_t>{0, 4}));
  const BpeModel ab_first = make(kAbc, {{"a", "b"}, {"b", "c"}});
  EXPECT_EQ(tokenize(ab_first, "abc"), (std::vector<int32_t>{3, 2}));
  const BpeModel chained = make(kAbc, {{"b", "c"}, {"a", "b"}, {"a", "bc"}});
  EXPECT_EQ(tokenize(chained, "abc"), (std::vector<int32_t>{5}));
  EXPECT_EQ(tokenize(chained, "cabcab"), (std::vector<int32_t>{2, 5, 3}));
}

TEST(BpeModelTest, EqualRanksMergeLeftmostFirst) {
  const BpeModel model = make({"a", "aa"}, {{"a", "a"}});
  EXPECT_EQ(tokenize(model, "aaa"), (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(tokenize(model, "aaaa"), (std::vector<int32_t>{1, 1}));
}

TEST(BpeModelTest, IgnoreMergesTakesWholeVocabularyPieces) {
  BpeOptions options;
  const BpeModel plain = make(kAbc, {{"a", "b"}}, options);
  EXPECT_EQ(tokenize(plain, "abc"), (std::vector<int32_t>{3, 2}));
  options.ignore_merges = true;
  const BpeModel whole = make(kAbc, {{"a", "b"}}, options);
  EXPECT_EQ(tokenize(whole, "abc"), (std::vector<int32_t>{5}));
}

TEST(BpeModelTest, ByteFallbackAndUnknownTokens) {
  // "é" is C3 A9; only <0xC3> and <0xA9> exist, so "ü" (C3 BC) has no byte spelling.
  std::vector<std::string> tokens = {"<unk>", "a", "<0xC3>", "<0xA9>"};
  BpeOptions options;
  options.byte_fallback = true;
  options.unk_id = 0;
  options.fuse_unk = true;
  const BpeModel fused = make(tokens, {}, options);
  EXPECT_EQ(tokenize(fused,
                     "a\xC3\xA9"
                     "a"),
            (std::vector<int32_t>{1, 2, 3, 1}));
  EXPECT_EQ(tokenize(fused,
                     "\xC3\xBC\xC3\xBC"
                     "a\xC3\xBC"),
            (std::vector<int32_t>{0, 1, 0}));
  options.fuse_unk = false;
  const BpeModel separate = make(tokens, {}, options);
  EXPECT_EQ(tokenize(separate,
                     "\xC3\xBC\xC3\xBC"
                     "a"),
            (std::vector<int32_t>{0, 0, 1}));
  options.unk_id = -1;
  const BpeModel dropping = make(tokens, {}, options);
  EXPECT_EQ(tokenize(dropping,
                     "\xC3\xBC"
                     "a"),
            (std::vector<int32_t>{1}));
}

TEST(BpeModelTest, ByteLevelPiecesAreRawBytes) {
  // "Ġ" spells the space byte; "Ã©" spells the bytes of "é".
  BpeOptions options;
  options.byte_level = true;
  std::vector<std::string> tokens = {"a",
                                     "\xC4\xA0",
                                     "\xC4\xA0"
                                     "a",
                                     "\xC3\x83",
                                     "\xC2\xA9",
                                     "\xC3\x83\xC2\xA9"};
  const BpeModel model = make(tokens, {{"\xC4\xA0", "a"}, {"\xC3\x83", "\xC2\xA9"}}, options);
  EXPECT_EQ(tokenize(model, " a"), (std::vector<int32_t>{2}));
  EXPECT_EQ(tokenize(model, "\xC3\xA9 "), (std::vector<int32_t>{5, 1}));
  EXPECT_EQ(model.find("\xC4\xA0"
                       "a"),
            std::optional<int32_t>(2));
}

TEST(BpeModelTest, MergesNamingUnknownTokensAreRejected) {
  auto merges = BpeModel::resolve_merges(kAbc, {{"a", "b"}, {"c", "d"}});
  ASSERT_FALSE(merges.ok());
  EXPECT_NE(merges.status().message().find("'d'"), std::string::npos) << merges.status().message();
  auto joined = BpeModel::resolve_merges(kAbc, {{"c", "a"}});
  ASSERT_FALSE(joined.ok());
  EXPECT_NE(joined.status().message().find("'ca'"), std::string::npos);
}

TEST(SentencePieceMergesTest, RankedByPriorityThenLongerParts) {
  // Priority = -id: "ab" (3) before "bc" (4) before "abc" (5); "abc" splits as ab+c before a+bc.
  std::vector<double> by_order = {0, -1, -2, -3, -4, -5};
  const auto merges = merges_from_priorities(kAbc, by_order);
  ASSERT_EQ(merges.size(), 4u);
  EXPECT_EQ((std::vector<int32_t>{merges[0].left, merges[0].right, merges[0].result}),
            (std::vector<int32_t>{0, 1, 3}));
  EXPECT_EQ((std::vector<int32_t>{merges[1].left, merges[1].right, merges[1].result}),
            (std::vector<int32_t>{1, 2, 4}));
  EXPECT_EQ((std::vector<int32_t>{merges[2].left, merges[2].right, merges[2].result}),
            (std::vector<int32_t>{3, 2, 5}));
  EXPECT_EQ((std::vector<int32_t>{merges[3].left, merges[3].right, merges[3].result}),
            (std::vector<int32_t>{0, 4, 5}));
  // Scores instead: "bc" scores highest, so it is the first merge.
  const auto scored = merges_from_priorities(kAbc, {0, 0, 0, -1, 5, -2});
  ASSERT_EQ(scored.size(), 4u);
  EXPECT_EQ(scored[0].result, 4);
  EXPECT_EQ(scored[1].result, 3);
}

}  // namespace
}  // namespace hearth
