// Token ids and decoded text against goldens from the Hugging Face `tokenizers` library
// (tests/fixtures/tokenizer/make_goldens.py) on the 2,000+ case corpus, for every real tokenizer.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "formats/gguf/gguf_file.h"
#include "golden_file.h"
#include "real_tokenizers.h"
#include "support/test_support.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/gguf_pre_tokenizers.h"
#include "tokenizer/incremental_detokenizer.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace hearth {
namespace {

std::string show_ids(const std::vector<int32_t>& ids, size_t around, size_t max = 12) {
  std::ostringstream ss;
  const size_t begin = around > max / 2 ? around - max / 2 : 0;
  if (begin > 0) ss << "... ";
  for (size_t i = begin; i < ids.size() && i < begin + max; ++i) ss << ids[i] << ' ';
  if (begin + max < ids.size()) ss << "...";
  return ss.str();
}

size_t first_difference(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

const std::map<std::string, std::string>& corpus() {
  static const std::map<std::string, std::string> cases = [] {
    std::map<std::string, std::string> out;
    for (const auto& c : test::read_golden_lines("corpus.jsonl.zst")) {
      out[c["name"].get<std::string>()] = test::case_input(c);
    }
    return out;
  }();
  return cases;
}

// Compares encode (both option sets), decode (three ways), round trips and streaming against
// one golden file; reports at most 20 failing cases.
void check_goldens(const Tokenizer& tok, const std::string& golden_file, size_t min_cases) {
  const auto lines = test::read_golden_lines(golden_file);
  ASSERT_GT(lines.size(), min_cases);
  ASSERT_TRUE(lines[0].contains("meta"));
  EXPECT_EQ(tok.vocab_size(), lines[0]["meta"]["vocab_size"].get<int32_t>());
  ASSERT_GE(corpus().size(), 2000u);

  size_t checked = 0;
  size_t failures = 0;
  size_t round_trips = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto& golden = lines[i];
    const std::string name = golden["name"].get<std::string>();
    auto it = corpus().find(name);
    ASSERT_NE(it, corpus().end()) << "golden case " << name << " is not in the corpus";
    const std::string& text = it->second;
    const auto want_plain = golden["plain"].get<std::vector<int32_t>>();
    const auto want_full = golden["full"].get<std::vector<int32_t>>();
    const auto plain = tok.encode(text, {.add_special = false, .parse_special = false});
    const auto full = tok.encode(text, {.add_special = true, .parse_special = true});
    ++checked;
    bool ok = true;
    if (plain != want_plain) {
      const size_t at = first_difference(plain, want_plain);
      ADD_FAILURE() << name << " (plain): first difference at " << at
                    << "\n  got:  " << show_ids(plain, at)
                    << "\n  want: " << show_ids(want_plain, at);
      ok = false;
    }
    if (full != want_full) {
      const size_t at = first_difference(full, want_full);
      ADD_FAILURE() << name << " (full): first difference at " << at
                    << "\n  got:  " << show_ids(full, at)
                    << "\n  want: " << show_ids(want_full, at);
      ok = false;
    }
    // Decoding the reference ids (so a decode bug is not hidden by an encode bug).
    const std::string decoded = tok.decode(want_full, false);
    if (decoded != golden["decoded"].get<std::string>()) {
      ADD_FAILURE() << name << ": decode differs:\n  got:  " << decoded
                    << "\n  want: " << golden["decoded"].get<std::string>();
      ok = false;
    }
    if (tok.decode(want_full, true) != golden["decoded_skip"].get<std::string>()) {
      ADD_FAILURE() << name << ": decode(skip_special) differs";
      ok = false;
    }
    const std::string decoded_plain = tok.decode(want_plain, false);
    if (decoded_plain != golden["decoded_plain"].get<std::string>()) {
      ADD_FAILURE() << name << ": decode of plain ids differs:\n  got:  " << decoded_plain
                    << "\n  want: " << golden["decoded_plain"].get<std::string>();
      ok = false;
    }
    // decode(encode(x)) == x wherever the reference round-trips.
    if (golden["decoded_plain"].get<std::string>() == utf8::sanitize(text)) {
      ++round_trips;
      EXPECT_EQ(tok.decode(plain, false), utf8::sanitize(text)) << name << ": no round trip";
    }
    // Streaming the ids gives the same text, in valid UTF-8 pieces.
    IncrementalDetokenizer stream(tok);
    std::string streamed;
    for (int32_t id : want_full) {
      const std::string piece = stream.push(id);
      if (utf8::find_invalid(piece)) {
        ADD_FAILURE() << name << ": streamed piece is not valid UTF-8";
        ok = false;
      }
      streamed += piece;
    }
    streamed += stream.finish();
    if (streamed != decoded) {
      ADD_FAILURE() << name << ": streamed text differs from decode()";
      ok = false;
    }
    if (!ok && ++failures >= 20) {
      FAIL() << "stopping after 20 failing cases of " << checked;
    }
  }
  EXPECT_EQ(failures, 0u);
  EXPECT_GT(round_trips, 0u);
  std::cout << golden_file << ": " << checked << " cases, " << round_trips << " round trips\n";
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, IdsAndTextMatchHuggingFace) {
  HEARTH_REQUIRE_TOKENIZER(tok, GetParam());
  check_goldens(*tok, GetParam() + ".golden.jsonl.zst", 2000);
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, GoldenTest, ::testing::ValuesIn(test::kRealTokenizers),
                         [](const auto& param_info) { return param_info.param; });

// Small tokenizers trained by make_goldens.py for the tokenizer.json features the real ones do
// not use (Metaspace, Prepend, Strip, every Split behavior, lstrip/rstrip/single_word, ...).
class SyntheticGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SyntheticGoldenTest, IdsAndTextMatchHuggingFace) {
  const std::string json = test::read_file_text(
      test::fixture_path("tokenizer/synthetic_" + GetParam() + ".tokenizer.json"));
  ASSERT_FALSE(json.empty());
  auto tok = Tokenizer::from_hf_json(json);
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  check_goldens(**tok, "synthetic_" + GetParam() + ".golden.jsonl.zst", 500);
}

INSTANTIATE_TEST_SUITE_P(Features, SyntheticGoldenTest,
                         ::testing::Values("metaspace", "llama2_style", "bytelevel_prefix",
                                           "splits", "no_decoder"),
                         [](const auto& param_info) { return param_info.param; });

// The pre-tokenizer's pieces of the normalized text, against Hugging Face's pre_tokenize_str:
// checks the regexes (PCRE2 standing in for Oniguruma) even where the vocabulary would hide a
// different split.
class PiecesGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PiecesGoldenTest, PreTokenizerPiecesMatchHuggingFace) {
  const std::string& name = GetParam();
  Normalizer normalizer;
  PreTokenizer pre;
  if (name == "smollm2") {
    HEARTH_REQUIRE_PATH(path, test::default_model_path(), "SmolLM2 GGUF");
    auto file = GgufFile::open(path);
    ASSERT_TRUE(file.ok()) << file.status().to_string();
    auto pre_name = file->get_string("tokenizer.ggml.pre");
    ASSERT_TRUE(pre_name.ok());
    auto gguf_pre = gguf_pre_tokenizer(*pre_name);
    ASSERT_TRUE(gguf_pre.ok()) << gguf_pre.status().to_string();
    pre = std::move(gguf_pre->pre_tokenizer);
  } else {
    HEARTH_REQUIRE_PATH(dir, test::shared_tokenizer_dir(name), "shared tokenizer " + name);
    const auto json = nlohmann::json::parse(test::read_file_text(dir + "/tokenizer.json"));
    auto n = Normalizer::from_json(json["normalizer"]);
    ASSERT_TRUE(n.ok()) << n.status().to_string();
    normalizer = std::move(n).value();
    auto p = PreTokenizer::from_json(json["pre_tokenizer"]);
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    pre = std::move(p).value();
  }
  const auto lines = test::read_golden_lines(name + ".golden.jsonl.zst");
  size_t failures = 0;
  for (size_t i = 1; i < lines.size() && failures < 20; ++i) {
    const std::string case_name = lines[i]["name"].get<std::string>();
    std::string text = utf8::sanitize(corpus().at(case_name));
    std::string normalized;
    if (normalizer.apply(text, normalized)) text = normalized;
    PreTokenArena arena;
    std::vector<PreToken> pieces;
    pre.run(text, true, pieces, arena);
    std::vector<std::string> got;
    for (const PreToken& piece : pieces) got.push_back(byte_level::encode_bytes(piece.text));
    const auto want = lines[i]["pieces"].get<std::vector<std::string>>();
    if (got != want) {
      ++failures;
      size_t at = 0;
      while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
      ADD_FAILURE() << case_name << ": piece " << at << " is '"
                    << (at < got.size() ? got[at] : "(none)") << "', want '"
                    << (at < want.size() ? want[at] : "(none)") << "'";
    }
  }
  EXPECT_EQ(failures, 0u);
}

INSTANTIATE_TEST_SUITE_P(ByteLevelTokenizers, PiecesGoldenTest,
                         ::testing::Values("qwen3", "llama3", "smollm2"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace hearth
