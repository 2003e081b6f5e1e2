// `hearth models inspect` facts, checked against what the independent goldens say about the same
// files (tests/fixtures/gguf/goldens from the gguf package, tests/fixtures/hf/*.expected.json
// from the safetensors package).
#include "formats/model_summary.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace hearth {
namespace {

using nlohmann::json;

json load(const std::string& fixture) {
  return json::parse(test::read_file_text(test::fixture_path(fixture)));
}

const json* metadata_value(const json& golden, const std::string& key) {
  for (const json& kv : golden["metadata"])
    if (kv["key"] == key) return &kv;
  return nullptr;
}

void expect_contains(const std::string& text, const std::string& needle) {
  EXPECT_NE(text.find(needle), std::string::npos) << "missing '" << needle << "' in:\n" << text;
}

void check_gguf(const std::string& model, const std::string& golden_name,
                const std::string& quantization, bool chat_template) {
  const json golden = load("gguf/goldens/" + golden_name);
  uint64_t params = 0, bytes = 0;
  for (const json& t : golden["tensors"]) {
    uint64_t n = 1;
    for (const json& d : t["ne"]) n *= d.get<uint64_t>();
    params += n;
    bytes += t["n_bytes"].get<uint64_t>();
  }
  const std::string arch = (*metadata_value(golden, "general.architecture"))["value"];
  auto s = summarize_model(model);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->format, "GGUF v3");
  EXPECT_EQ(s->architecture, arch);
  EXPECT_EQ(s->parameters, params);
  EXPECT_EQ(s->weight_bytes, bytes);
  EXPECT_EQ(s->quantization, quantization);
  EXPECT_EQ(s->context_length, (*metadata_value(golden, arch + ".context_length"))["value"]);
  EXPECT_EQ(s->layers, (*metadata_value(golden, arch + ".block_count"))["value"]);
  EXPECT_EQ(s->vocab, (*metadata_value(golden, "tokenizer.ggml.tokens"))["length"]);
  EXPECT_EQ(s->has_chat_template, chat_template);
  EXPECT_EQ(metadata_value(golden, "tokenizer.chat_template") != nullptr, chat_template);
  EXPECT_EQ(s->tensors.size(), golden["tensors"].size());

  const std::string text = format_model_summary(*s, false);
  expect_contains(text, "architecture          " + arch);
  std::string param_count = std::to_string(params);  // "(" + ... trips GCC 12's -Wrestrict
  param_count.insert(param_count.begin(), '(');
  param_count.push_back(')');
  expect_contains(text, param_count);
  expect_contains(text, "quantization          " + quantization);
  expect_contains(text, "context length        " + std::to_string(s->context_length));
  expect_contains(text, std::string("chat template         ") + (chat_template ? "yes" : "no"));
  expect_contains(text, "memory needed");
  expect_contains(text, "first 12 shown");
  EXPECT_NE(
      format_model_summary(*s, true).find(golden["tensors"].back()["name"].get<std::string>()),
      std::string::npos);
}

TEST(ModelSummaryTest, SmolLM2Gguf) {
  HEARTH_REQUIRE_PATH(model, test::default_model_path(), "SmolLM2-135M-Instruct.Q4_1.gguf");
  check_gguf(model, "smollm2-135m-instruct-q4_1.json", "Q4_1", true);
}

TEST(ModelSummaryTest, Gemma3Gguf) {
  HEARTH_REQUIRE_PATH(model, test::gemma3_model_path(), "gemma-3-270m-q4_k_m.gguf");
  check_gguf(model, "gemma-3-270m-q4_k_m.json", "Q4_K_M", false);
}

// Parameters as the safetensors package's read-back says: stored elements, except that MLX
// packed u32 weights hold 32 / bits values each and their scales/biases are not parameters.
uint64_t expected_params(const json& expected, int bits) {
  uint64_t n = 0;
  for (const auto& [name, t] : expected.items()) {
    uint64_t e = 1;
    for (const json& d : t["shape"]) e *= d.get<uint64_t>();
    const bool aux = name.ends_with(".scales") || name.ends_with(".biases");
    if (bits && aux) continue;
    if (bits && t["dtype"] == "uint32") e *= 32 / static_cast<uint64_t>(bits);
    n += e;
  }
  return n;
}

TEST(ModelSummaryTest, ShardedHfDirectory) {
  auto s = summarize_model(test::fixture_path("hf/tiny_llama"));
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->format, "Hugging Face directory, safetensors (2 shards), format \"pt\"");
  EXPECT_EQ(s->name, "tiny_llama");
  EXPECT_EQ(s->architecture, "llama (LlamaForCausalLM)");
  EXPECT_EQ(s->parameters, expected_params(load("hf/tiny_llama.expected.json"), 0));
  EXPECT_EQ(s->context_length, 256);
  EXPECT_EQ(s->kv_heads, 2);
  EXPECT_TRUE(s->has_chat_template);
  EXPECT_EQ(s->by_type.at("F16").tensors, 5u);
  EXPECT_EQ(s->by_type.at("F32").tensors, 15u);
  EXPECT_EQ(s->quantization, "F32 (config torch_dtype float32)");
  // 2 layers * 256 positions * 2 kv heads * (4 + 4) dims * 2 bytes
  EXPECT_EQ(s->kv_cache_bytes_full_context, 2u * 256 * 2 * 8 * 2);
  const std::string text = format_model_summary(*s, true);
  expect_contains(text, "chat template         yes");
  expect_contains(text, "model.layers.1.mlp.down_proj.weight");
}

TEST(ModelSummaryTest, MlxQuantizedDirectory) {
  auto s = summarize_model(test::fixture_path("hf/tiny_mlx_q4"));
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->quantization, "MLX 4-bit, group size 32");
  EXPECT_EQ(s->parameters, expected_params(load("hf/tiny_mlx_q4.expected.json"), 4));
  EXPECT_EQ(s->context_length, 40960);
  EXPECT_FALSE(s->has_chat_template);
  EXPECT_EQ(s->by_type.at("U32").tensors, 2u);
  expect_contains(format_model_summary(*s, false),
                  "quantization          MLX 4-bit, group size 32");
}

TEST(ModelSummaryTest, SingleSafetensorsFile) {
  const json expected = load("safetensors/dtypes.expected.json");
  uint64_t params = 0, bytes = 0;
  for (const json& t : expected["tensors"]) {
    uint64_t e = 1;
    for (const json& d : t["shape"]) e *= d.get<uint64_t>();
    params += e;
    bytes += t["data_offsets"][1].get<uint64_t>() - t["data_offsets"][0].get<uint64_t>();
  }
  auto s = summarize_model(test::fixture_path("safetensors/dtypes.safetensors"));
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->format, "safetensors, format \"pt\"");
  EXPECT_EQ(s->parameters, params);
  EXPECT_EQ(s->weight_bytes, bytes);
  EXPECT_EQ(s->tensors.size(), expected["tensors"].size());

  // A shard next to its config.json picks up the config's facts.
  auto shard =
      summarize_model(test::fixture_path("hf/tiny_llama/model-00001-of-00002.safetensors"));
  ASSERT_TRUE(shard.ok()) << shard.status().to_string();
  EXPECT_EQ(shard->context_length, 256);
  EXPECT_TRUE(shard->has_chat_template);
}

TEST(ModelSummaryTest, ErrorsNameThePath) {
  auto missing = summarize_model("/nonexistent/model.gguf");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/model.gguf"), std::string::npos);

  auto plain_dir = summarize_model(test::fixture_path("gguf"));
  EXPECT_EQ(plain_dir.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(plain_dir.status().message().find("without config.json"), std::string::npos);

  auto not_a_model = summarize_model(test::fixture_path("hf/configs/manifest.json"));
  ASSERT_FALSE(not_a_model.ok());
  EXPECT_NE(not_a_model.status().message().find("manifest.json"), std::string::npos);

  auto escaping = summarize_model(test::fixture_path("hf/tiny_escape"));
  ASSERT_FALSE(escaping.ok());
  EXPECT_NE(escaping.status().message().find("'..' path component"), std::string::npos);
}

}  // namespace
}  // namespace hearth
