// Malformed or unsupported tokenizer files give errors that name what is wrong.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "support/test_support.h"
#include "tokenizer/gguf_pre_tokenizers.h"
#include "tokenizer/tokenizer.h"

namespace hearth {
namespace {

using nlohmann::json;

// A minimal valid byte-level tokenizer.json: bytes "a", "b", "Ġ" and the merge "a b".
json minimal_tokenizer_json() {
  return json::parse(R"({
    "version": "1.0",
    "added_tokens": [{"id": 4, "content": "<|end|>", "special": true, "normalized": false,
                      "lstrip": false, "rstrip": false, "single_word": false}],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "post_processor": null,
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "\u0120": 2, "ab": 3}, "merges": ["a b"]}
  })");
}

std::string load_error(const json& j) {
  auto tok = Tokenizer::from_hf_json(j.dump());
  return tok.ok() ? std::string("(loaded)") : tok.status().message();
}

#define EXPECT_ERROR_MENTIONS(message, text) \
  EXPECT_NE((message).find(text), std::string::npos) << "error was: " << (message)

TEST(LoaderErrorTest, MinimalTokenizerLoads) {
  auto tok = Tokenizer::from_hf_json(minimal_tokenizer_json().dump());
  ASSERT_TRUE(tok.ok()) << tok.status().to_string();
  EXPECT_EQ((*tok)->encode("ab ab<|end|>", {.add_special = false, .parse_special = true}),
            (std::vector<int32_t>{3, 2, 3, 4}));
  EXPECT_EQ((*tok)->vocab_size(), 5);
}

TEST(LoaderErrorTest, UnsupportedTypesAreNamed) {
  json j = minimal_tokenizer_json();
  j["model"]["type"] = "Unigram";
  EXPECT_ERROR_MENTIONS(load_error(j), "model type 'Unigram'");

  j = minimal_tokenizer_json();
  j["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_ERROR_MENTIONS(load_error(j), "normalizer type 'Lowercase'");

  j = minimal_tokenizer_json();
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers", json::array({{{"type", "Whitespace"}}})}};
  EXPECT_ERROR_MENTIONS(load_error(j), "pre_tokenizer type 'Whitespace'");

  j = minimal_tokenizer_json();
  j["decoder"] = {{"type", "WordPiece"}};
  EXPECT_ERROR_MENTIONS(load_error(j), "decoder type 'WordPiece'");

  j = minimal_tokenizer_json();
  j["post_processor"] = {{"type", "Fancy"}};
  EXPECT_ERROR_MENTIONS(load_error(j), "post_processor type 'Fancy'");

  j = minimal_tokenizer_json();
  j["model"]["continuing_subword_prefix"] = "##";
  EXPECT_ERROR_MENTIONS(load_error(j), "continuing_subword_prefix");

  j = minimal_tokenizer_json();
  j["model"]["dropout"] = 0.1;
  EXPECT_ERROR_MENTIONS(load_error(j), "dropout");

  j = minimal_tokenizer_json();
  j["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Sideways"}};
  EXPECT_ERROR_MENTIONS(load_error(j), "behavior 'Sideways'");
}

TEST(LoaderErrorTest, MalformedFilesAreReported) {
  auto bad_json = Tokenizer::from_hf_json("{\"model\": ");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_ERROR_MENTIONS(bad_json.status().message(), "not valid JSON");

  json j = minimal_tokenizer_json();
  j["model"]["merges"] = json::array({"a c"});
  EXPECT_ERROR_MENTIONS(load_error(j), "'c'");

  j = minimal_tokenizer_json();
  j["model"]["merges"] = json::array({"a b c"});
  EXPECT_ERROR_MENTIONS(load_error(j), "merge 0");

  j = minimal_tokenizer_json();
  j["model"]["vocab"]["huge"] = 1 << 30;
  EXPECT_ERROR_MENTIONS(load_error(j), "'huge'");

  j = minimal_tokenizer_json();
  j["added_tokens"][0]["id"] = -5;
  EXPECT_ERROR_MENTIONS(load_error(j), "<|end|>");

  j = minimal_tokenizer_json();
  j["pre_tokenizer"] = {
      {"type", "Split"}, {"pattern", {{"Regex", "(oops"}}}, {"behavior", "Isolated"}};
  EXPECT_ERROR_MENTIONS(load_error(j), "(oops");

  j = minimal_tokenizer_json();
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers", json::array({{{"type", "ByteLevel"}}, {{"type", "Digits"}}})}};
  EXPECT_ERROR_MENTIONS(load_error(j), "after ByteLevel");

  j = minimal_tokenizer_json();
  j["model"]["byte_fallback"] = "yes";
  EXPECT_ERROR_MENTIONS(load_error(j), "byte_fallback");

  auto missing = Tokenizer::from_hf_dir(test::temp_path("no-such-tokenizer-dir"));
  ASSERT_FALSE(missing.ok());
  EXPECT_ERROR_MENTIONS(missing.status().message(), "tokenizer.json");
}

// A GGUF with a two-token byte-level vocabulary plus whatever the test sets.
GgufWriter minimal_gguf() {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "qwen2");
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab", "<|end|>"});
  w.set_int32_array("tokenizer.ggml.token_type", {1, 1, 1, 3});
  w.set_string_array("tokenizer.ggml.merges", {"a b"});
  return w;
}

std::string gguf_error(const GgufWriter& w) {
  const std::vector<uint8_t> bytes = w.serialize();
  auto file = GgufFile::parse(bytes);
  if (!file.ok()) return "parse: " + file.status().message();
  auto tok = Tokenizer::from_gguf(*file);
  return tok.ok() ? std::string("(loaded)") : tok.status().message();
}

TEST(LoaderErrorTest, GgufProblemsAreNamed) {
  EXPECT_EQ(gguf_error(minimal_gguf()), "(loaded)");

  GgufWriter w = minimal_gguf();
  w.set_string("tokenizer.ggml.model", "bert");
  EXPECT_ERROR_MENTIONS(gguf_error(w), "tokenizer.ggml.model 'bert'");

  w = minimal_gguf();
  w.set_string("tokenizer.ggml.pre", "mystery-pre");
  const std::string pre_error = gguf_error(w);
  EXPECT_ERROR_MENTIONS(pre_error, "'mystery-pre'");
  EXPECT_ERROR_MENTIONS(pre_error, "llama3");

  w = minimal_gguf();
  w.set_uint32("tokenizer.ggml.bos_token_id", 99);
  EXPECT_ERROR_MENTIONS(gguf_error(w), "tokenizer.ggml.bos_token_id");

  w = minimal_gguf();
  w.set_int32_array("tokenizer.ggml.token_type", {1, 1});
  EXPECT_ERROR_MENTIONS(gguf_error(w), "token_type");

  w = minimal_gguf();
  w.set_int32_array("tokenizer.ggml.tokens", {1, 2, 3});
  EXPECT_ERROR_MENTIONS(gguf_error(w), "tokenizer.ggml.tokens");

  w = minimal_gguf();
  w.set_string_array("tokenizer.ggml.merges", {"a z"});
  EXPECT_ERROR_MENTIONS(gguf_error(w), "'z'");

  GgufWriter none;
  none.set_string("general.architecture", "llama");
  EXPECT_ERROR_MENTIONS(gguf_error(none), "tokenizer.ggml.model");

  GgufWriter spm;  // SentencePiece without merges needs scores
  spm.set_string("general.architecture", "llama");
  spm.set_string("tokenizer.ggml.model", "llama");
  spm.set_string_array("tokenizer.ggml.tokens", {"<unk>", "a", "b"});
  EXPECT_ERROR_MENTIONS(gguf_error(spm), "tokenizer.ggml.scores");
  spm.set_float32_array("tokenizer.ggml.scores", {0.0f, -1.0f});
  EXPECT_ERROR_MENTIONS(gguf_error(spm), "tokenizer.ggml.scores");
  spm.set_float32_array("tokenizer.ggml.scores", {0.0f, -1.0f, -2.0f});
  EXPECT_EQ(gguf_error(spm), "(loaded)");
}

TEST(LoaderErrorTest, EveryGgufPreTokenizerNameBuilds) {
  for (const std::string& name : gguf_pre_tokenizer_names()) {
    auto pre = gguf_pre_tokenizer(name);
    EXPECT_TRUE(pre.ok()) << name << ": " << pre.status().to_string();
    if (pre.ok()) {
      EXPECT_TRUE(pre->pre_tokenizer.byte_level()) << name;
    }
  }
}

}  // namespace
}  // namespace hearth
