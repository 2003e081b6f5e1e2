// Behaviour of the real tokenizers beyond the goldens: special ids and end-of-generation sets as
// their files declare them, parse_special, invalid input, and linear-time encoding.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "real_tokenizers.h"
#include "support/test_support.h"
#include "tokenizer/utf8.h"

namespace hearth {
namespace {

bool contains(const std::vector<int32_t>& ids, int32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Values from each model's own files: Qwen3's tokenizer_config.json (eos <|im_end|>, pad
// <|endoftext|>, no BOS), Llama 3's (bos <|begin_of_text|>, eos <|end_of_text|>), and the GGUF
// metadata of SmolLM2 (bos 1, eos 2, add_bos false) and Gemma 3 (bos 2, eos 1, add_bos true).
TEST(TokenizerBehaviorTest, SpecialIdsFollowTheFiles) {
  {
    HEARTH_REQUIRE_TOKENIZER(tok, "qwen3");
    EXPECT_EQ(tok->bos_id(), -1);
    EXPECT_EQ(tok->eos_id(), *tok->token_to_id("<|im_end|>"));
    EXPECT_EQ(tok->pad_id(), *tok->token_to_id("<|endoftext|>"));
    EXPECT_EQ(tok->eot_id(), tok->eos_id());
    EXPECT_TRUE(tok->is_eog(tok->eos_id()));
    EXPECT_TRUE(tok->is_eog(tok->pad_id()));
    EXPECT_FALSE(tok->is_eog(*tok->token_to_id("<|im_start|>")));
    EXPECT_TRUE(tok->prefix_ids().empty());
    EXPECT_NE(tok->chat_template().find("<|im_start|>"), std::string::npos);
  }
  {
    HEARTH_REQUIRE_TOKENIZER(tok, "llama3");
    EXPECT_EQ(tok->bos_id(), 128000);
    EXPECT_EQ(tok->eos_id(), 128001);
    EXPECT_EQ(tok->eot_id(), *tok->token_to_id("<|eot_id|>"));
    EXPECT_TRUE(tok->is_eog(128001));
    EXPECT_TRUE(tok->is_eog(tok->eot_id()));
    EXPECT_FALSE(tok->is_eog(128000));
    EXPECT_FALSE(tok->chat_template().empty());
  }
  {
    HEARTH_REQUIRE_TOKENIZER(tok, "smollm2");
    EXPECT_EQ(tok->bos_id(), 1);
    EXPECT_EQ(tok->eos_id(), 2);
    EXPECT_TRUE(tok->is_eog(2));
    EXPECT_FALSE(tok->add_bos());
    EXPECT_NE(tok->chat_template().find("<|im_start|>"), std::string::npos);
    EXPECT_EQ(tok->token_text(1), "<|im_start|>");
    EXPECT_TRUE(tok->is_special(1));
    EXPECT_FALSE(tok->is_special(100));
  }
  {
    HEARTH_REQUIRE_TOKENIZER(tok, "gemma3");
    EXPECT_EQ(tok->bos_id(), 2);
    EXPECT_EQ(tok->eos_id(), 1);
    EXPECT_EQ(tok->eot_id(), *tok->token_to_id("<end_of_turn>"));
    EXPECT_TRUE(tok->is_eog(1));
    EXPECT_TRUE(tok->is_eog(tok->eot_id()));
    EXPECT_TRUE(tok->add_bos());
    EXPECT_EQ(tok->prefix_ids(), (std::vector<int32_t>{2}));
    EXPECT_TRUE(tok->chat_template().empty()) << "this GGUF ships no chat template";
    EXPECT_EQ(tok->vocab_size(), 262144);
  }
}

TEST(TokenizerBehaviorTest, UserTextCannotInjectSpecialTokens) {
  for (const std::string& name : test::kRealTokenizers) {
    HEARTH_REQUIRE_TOKENIZER(tok, name);
    const std::string marker = name == "gemma3"   ? "<start_of_turn>"
                               : name == "llama3" ? "<|eot_id|>"
                                                  : "<|im_start|>";
    const int32_t special = *tok->token_to_id(marker);
    const auto as_text = tok->encode("x" + marker + "y", {.add_special = false});
    EXPECT_FALSE(contains(as_text, special)) << name;
    for (int32_t id : as_text) EXPECT_FALSE(tok->is_special(id)) << name << " id " << id;
    const auto parsed =
        tok->encode("x" + marker + "y", {.add_special = false, .parse_special = true});
    EXPECT_TRUE(contains(parsed, special)) << name;
    EXPECT_EQ(tok->decode(as_text), "x" + marker + "y") << name;
  }
}

TEST(TokenizerBehaviorTest, NonSpecialAddedTokensAlwaysMatch) {
  // Qwen3 declares <think> as an added token that is not special, so Hugging Face matches it in
  // any text; only special tokens are gated by parse_special.
  HEARTH_REQUIRE_TOKENIZER(tok, "qwen3");
  const int32_t think = *tok->token_to_id("<think>");
  EXPECT_FALSE(tok->is_special(think));
  EXPECT_EQ(tok->encode("<think>", {.add_special = false}), (std::vector<int32_t>{think}));
}

TEST(TokenizerBehaviorTest, SkipSpecialDropsControlTokensFromText) {
  HEARTH_REQUIRE_TOKENIZER(tok, "qwen3");
  const auto ids =
      tok->encode("<|im_start|>user\nhi<|im_end|>", {.add_special = false, .parse_special = true});
  EXPECT_EQ(tok->decode(ids, /*skip_special=*/true), "user\nhi");
  EXPECT_EQ(tok->decode(ids, /*skip_special=*/false), "<|im_start|>user\nhi<|im_end|>");
}

TEST(TokenizerBehaviorTest, InvalidUtf8IsEncodedAsItsReplacement) {
  for (const std::string& name : test::kRealTokenizers) {
    HEARTH_REQUIRE_TOKENIZER(tok, name);
    const std::string bad = "caf\xE9 \xF0\x9F\x98 ok \xFF";
    EXPECT_EQ(tok->encode(bad), tok->encode(utf8::sanitize(bad))) << name;
  }
}

TEST(TokenizerBehaviorTest, DecodeSkipsIdsOutsideTheVocabulary) {
  for (const std::string& name : test::kRealTokenizers) {
    HEARTH_REQUIRE_TOKENIZER(tok, name);
    const auto ids = tok->encode("hello", {.add_special = false});
    std::vector<int32_t> noisy = {-7, tok->vocab_size(), INT32_MAX};
    noisy.insert(noisy.end(), ids.begin(), ids.end());
    noisy.push_back(-1);
    EXPECT_EQ(tok->decode(noisy), "hello") << name;
    EXPECT_EQ(tok->token_text(-1), "");
    EXPECT_EQ(tok->token_to_piece(tok->vocab_size()), "");
  }
}

TEST(TokenizerBehaviorTest, TokenPiecesAreTheBytesATokenAdds) {
  {
    HEARTH_REQUIRE_TOKENIZER(tok, "qwen3");
    const auto world = tok->encode(" world", {.add_special = false});
    ASSERT_EQ(world.size(), 1u);
    EXPECT_EQ(tok->token_text(world[0]), "\xC4\xA0world");  // "Ġworld"
    EXPECT_EQ(tok->token_to_piece(world[0]), " world");
  }
  {
    HEARTH_REQUIRE_TOKENIZER(tok, "gemma3");
    const int32_t byte_a = *tok->token_to_id("<0x41>");
    EXPECT_EQ(tok->token_to_piece(byte_a), "A");
    const auto world = tok->encode(" world", {.add_special = false});
    ASSERT_EQ(world.size(), 1u);
    EXPECT_EQ(tok->token_to_piece(world[0]), " world");
  }
}

// One tokenizer shared by several threads (as the server does) gives each the same ids.
TEST(TokenizerBehaviorTest, ConcurrentEncodingAgrees) {
  HEARTH_REQUIRE_TOKENIZER(tok, "llama3");
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) {
    texts.push_back("request " + std::to_string(i * 7919) + ": héllo wörld, 你好 " +
                    std::string(static_cast<size_t>(i % 9), ' ') + "done.");
  }
  std::vector<std::vector<int32_t>> want;
  for (const auto& t : texts) want.push_back(tok->encode(t));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int round = 0; round < 5; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          const size_t k = (i + static_cast<size_t>(w) * 31) % texts.size();
          if (tok->encode(texts[k]) != want[k]) ++mismatches[static_cast<size_t>(w)];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches, (std::vector<int>{0, 0, 0, 0}));
}

// Seconds to encode `text`, the best of three runs.
double encode_seconds(const Tokenizer& tok, const std::string& text) {
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto ids = tok.encode(text, {.add_special = false});
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(ids.empty());
    best = std::min(best, took.count());
  }
  return best;
}

// Four times the input must not take sixteen times as long: a 100k-token document, and a single
// 200k character word (one BPE piece, the worst case for merging). Linear encoding takes about
// 4x, quadratic 16x; the bound is 8x, which leaves room for the cache misses of the longer text
// (ASan's shadow memory made doubling cost 3.2x, so the sanitizer build skips it: its timings
// say nothing about the algorithm).
TEST(TokenizerBehaviorTest, EncodingScalesLinearly) {
  if (HEARTH_UNDER_ASAN) GTEST_SKIP() << "timing under AddressSanitizer is not the algorithm's";
  for (const std::string& name : {std::string("qwen3"), std::string("gemma3")}) {
    HEARTH_REQUIRE_TOKENIZER(tok, name);
    std::string doc;
    uint32_t state = 12345;
    while (doc.size() < 400000) {
      state = state * 1664525u + 1013904223u;
      doc += "word" + std::to_string(state % 100000) + (state % 7 == 0 ? ".\n" : " ");
    }
    ASSERT_GT(tok->encode(doc, {.add_special = false}).size(), 100000u) << name;
    std::string word;
    for (size_t i = 0; i < 200000; ++i) word += static_cast<char>('a' + (i * 7 + i / 13) % 26);
    for (const std::string* text : {&doc, &word}) {
      const std::string quarter = text->substr(0, text->size() / 4);
      const double t_quarter = encode_seconds(*tok, quarter);
      const double t_full = encode_seconds(*tok, *text);
      EXPECT_LT(t_full, 8.0 * t_quarter + 0.02)
          << name << ": " << t_quarter << " s for a quarter, " << t_full << " s for the whole";
    }
  }
}

}  // namespace
}  // namespace hearth
