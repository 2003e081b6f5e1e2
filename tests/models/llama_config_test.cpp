// Loading refuses broken or unsupported model files with an error that names what is wrong.
// Each case starts from a valid tiny model and breaks one thing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "gguf_edit.h"
#include "models/load_model.h"
#include "tiny_models.h"

namespace hearth {
namespace {

using test::GgufEdit;

Status load_status(const std::string& path) {
  auto model = load_model(path, test::reference_options());
  return model.ok() ? Status() : model.status();
}

void expect_refused(const GgufEdit& edit, StatusCode code, const std::string& needle,
                    const std::string& source = test::tiny_llama3_path()) {
  const std::string path = test::write_edited_gguf(source, edit, "edited.gguf");
  const Status st = load_status(path);
  EXPECT_EQ(st.code(), code) << st.to_string();
  EXPECT_NE(st.message().find(needle), std::string::npos)
      << "message should mention '" << needle << "': " << st.message();
  EXPECT_NE(st.message().find(path), std::string::npos) << "and the file: " << st.message();
}

TEST(LlamaConfigTest, TinyModelsLoadWithTheirMetadata) {
  auto llama = load_model(test::tiny_llama3_path(), test::reference_options());
  ASSERT_TRUE(llama.ok()) << llama.status().to_string();
  const ModelInfo& info = (*llama)->info();
  EXPECT_EQ(info.architecture, "llama");
  EXPECT_EQ(info.name, "tiny-llama");
  EXPECT_EQ(info.vocab_size, 128);
  EXPECT_EQ(info.context_length, 64);
  EXPECT_EQ(info.n_layers, 2);
  EXPECT_EQ(info.d_model, 64);
  EXPECT_EQ(info.n_heads, 4);
  EXPECT_EQ(info.n_kv_heads, 2);
  EXPECT_EQ(info.head_dim, 16);
  auto qwen = load_model(test::tiny_qwen2_path(), test::reference_options());
  ASSERT_TRUE(qwen.ok()) << qwen.status().to_string();
  EXPECT_EQ((*qwen)->info().architecture, "qwen2");
}

TEST(LlamaConfigTest, MissingOrInvalidHyperparametersNameTheKey) {
  GgufEdit no_layers;
  no_layers.drop_keys = {"llama.block_count"};
  expect_refused(no_layers, StatusCode::kNotFound, "llama.block_count");

  GgufEdit zero_layers;
  zero_layers.set_keys["llama.block_count"] = test::gguf_uint32(0);
  expect_refused(zero_layers, StatusCode::kInvalidArgument, "llama.block_count");

  GgufEdit string_layers;
  string_layers.set_keys["llama.block_count"] = test::gguf_string("two");
  expect_refused(string_layers, StatusCode::kInvalidArgument, "llama.block_count");

  GgufEdit no_context;
  no_context.drop_keys = {"llama.context_length"};
  expect_refused(no_context, StatusCode::kNotFound, "llama.context_length");

  GgufEdit heads;  // 4 query heads cannot share 3 kv heads
  heads.set_keys["llama.attention.head_count_kv"] = test::gguf_uint32(3);
  expect_refused(heads, StatusCode::kInvalidArgument, "llama.attention.head_count_kv");

  GgufEdit eps;
  eps.set_keys["llama.attention.layer_norm_rms_epsilon"] = test::gguf_float32(-1.0f);
  expect_refused(eps, StatusCode::kInvalidArgument, "llama.attention.layer_norm_rms_epsilon");

  GgufEdit no_eps;
  no_eps.drop_keys = {"llama.attention.layer_norm_rms_epsilon"};
  expect_refused(no_eps, StatusCode::kNotFound, "llama.attention.layer_norm_rms_epsilon");

  GgufEdit odd_rope;
  odd_rope.set_keys["llama.rope.dimension_count"] = test::gguf_uint32(15);
  expect_refused(odd_rope, StatusCode::kInvalidArgument, "llama.rope.dimension_count");

  GgufEdit base;
  base.set_keys["llama.rope.freq_base"] = test::gguf_float32(0.0f);
  expect_refused(base, StatusCode::kInvalidArgument, "llama.rope.freq_base");

  // More layers than the file has weights for.
  GgufEdit layers;
  layers.set_keys["llama.block_count"] = test::gguf_uint32(3);
  expect_refused(layers, StatusCode::kNotFound, "blk.2.attn_norm.weight");
}

TEST(LlamaConfigTest, UnsupportedRopeScalingIsNamed) {
  GgufEdit yarn;
  yarn.set_keys["llama.rope.scaling.type"] = test::gguf_string("yarn");
  expect_refused(yarn, StatusCode::kUnsupported, "yarn");

  GgufEdit freqs;  // rope_freqs must have head_dim / 2 entries
  std::vector<uint8_t> bytes(4 * sizeof(float), 0);
  freqs.set_tensors["rope_freqs.weight"] = {DType::kF32, Shape{4}, bytes};
  expect_refused(freqs, StatusCode::kInvalidArgument, "rope_freqs.weight");
}

TEST(LlamaConfigTest, MissingOrMisshapenTensorsAreNamed) {
  GgufEdit missing;
  missing.drop_tensors = {"blk.1.ffn_up.weight"};
  expect_refused(missing, StatusCode::kNotFound, "blk.1.ffn_up.weight");

  GgufEdit misshapen;
  std::vector<uint8_t> bytes(64 * 32 * sizeof(float), 0);
  misshapen.set_tensors["blk.0.attn_q.weight"] = {DType::kF32, Shape{32, 64}, bytes};
  expect_refused(misshapen, StatusCode::kInvalidArgument, "blk.0.attn_q.weight");

  GgufEdit embedding;
  std::vector<uint8_t> emb(128 * 32 * sizeof(float), 0);
  embedding.set_tensors["token_embd.weight"] = {DType::kF32, Shape{128, 32}, emb};
  expect_refused(embedding, StatusCode::kInvalidArgument, "token_embd.weight");
}

TEST(LlamaConfigTest, WeightTypesWithoutKernelsAreRefusedAtLoad) {
  // i32 elements: a well-formed tensor of the right shape that no matmul kernel multiplies by.
  GgufEdit iq;
  std::vector<uint8_t> bytes(96 * 64 * 4, 0);
  iq.set_tensors["blk.0.ffn_gate.weight"] = {DType::kI32, Shape{96, 64}, bytes};
  expect_refused(iq, StatusCode::kUnsupported, "blk.0.ffn_gate.weight");
}

TEST(LlamaConfigTest, Qwen2RequiresItsBiases) {
  GgufEdit no_bias;
  no_bias.drop_tensors = {"blk.0.attn_k.bias"};
  expect_refused(no_bias, StatusCode::kNotFound, "blk.0.attn_k.bias", test::tiny_qwen2_path());
}

TEST(LlamaConfigTest, UnknownArchitecturesAreRefusedListingTheSupportedOnes) {
  GgufEdit gemma;
  gemma.set_keys["general.architecture"] = test::gguf_string("gemma3");
  expect_refused(gemma, StatusCode::kUnsupported, "unsupported architecture gemma3");
  const std::string path = test::write_edited_gguf(test::tiny_llama3_path(), gemma, "g.gguf");
  const Status st = load_status(path);
  for (const char* arch : {"llama", "mistral", "qwen2", "smollm"}) {
    EXPECT_NE(st.message().find(arch), std::string::npos) << st.message();
  }

  GgufEdit none;
  none.drop_keys = {"general.architecture"};
  expect_refused(none, StatusCode::kNotFound, "general.architecture");
}

TEST(LlamaConfigTest, MissingTruncatedAndDirectoryPathsGiveClearErrors) {
  const std::string missing = test::temp_path("no-such-model.gguf");
  Status st = load_status(missing);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find(missing), std::string::npos) << st.message();

  const std::vector<uint8_t> bytes = test::read_file_bytes(test::tiny_llama3_path());
  const std::string truncated = test::temp_path("truncated.gguf");
  std::ofstream(truncated, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size() / 2));
  st = load_status(truncated);
  EXPECT_EQ(st.code(), StatusCode::kCorruptData) << st.to_string();
  EXPECT_NE(st.message().find(truncated), std::string::npos) << st.message();

  const std::string dir = test::temp_path("model-dir");
  std::filesystem::create_directories(dir);
  st = load_status(dir);  // a directory must be a Hugging Face model directory
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.to_string();
  EXPECT_NE(st.message().find("config.json"), std::string::npos) << st.message();
}

// A copy of the tiny HF llama directory with config.json edited by `edit`.
std::string edited_hf_dir(const std::string& name,
                          const std::function<void(nlohmann::json&)>& edit) {
  namespace fs = std::filesystem;
  const fs::path source = test::fixture_path("models/tiny/hf_llama3");
  const fs::path dir = test::temp_path(name);
  fs::create_directories(dir);
  fs::copy_file(source / "model.safetensors", dir / "model.safetensors",
                fs::copy_options::overwrite_existing);
  auto config = nlohmann::json::parse(test::read_file_text((source / "config.json").string()));
  edit(config);
  std::ofstream(dir / "config.json") << config.dump();
  return dir.string();
}

TEST(LlamaConfigTest, HfConfigProblemsAreNamed) {
  const auto refused = [](const std::string& dir, StatusCode code, const std::string& needle) {
    const Status st = load_status(dir);
    EXPECT_EQ(st.code(), code) << st.to_string();
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
  };
  refused(edited_hf_dir("hf-yarn", [](auto& c) { c["rope_scaling"]["rope_type"] = "yarn"; }),
          StatusCode::kUnsupported, "yarn");
  refused(edited_hf_dir("hf-no-ff", [](auto& c) { c.erase("intermediate_size"); }),
          StatusCode::kNotFound, "intermediate_size");
  refused(edited_hf_dir("hf-heads", [](auto& c) { c["num_key_value_heads"] = 3; }),
          StatusCode::kCorruptData, "num_key_value_heads");
  refused(edited_hf_dir("hf-mlx",
                        [](auto& c) {
                          c["quantization"] = {{"group_size", 64}, {"bits", 4}};
                        }),
          StatusCode::kUnsupported, "quantization");
  refused(edited_hf_dir("hf-gemma", [](auto& c) { c["model_type"] = "gemma3_text"; }),
          StatusCode::kUnsupported, "unsupported architecture gemma3_text");
  // Untied, but the checkpoint has no output head.
  const std::string untied = edited_hf_dir("hf-untied", [](auto&) {});
  std::filesystem::copy_file(test::fixture_path("models/tiny/hf_qwen2/model.safetensors"),
                             untied + "/model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  refused(untied, StatusCode::kNotFound, "lm_head.weight");
}

TEST(LlamaConfigTest, SlidingWindowBecomesTheContextLimit) {
  const std::string dir = edited_hf_dir("hf-window", [](auto& c) { c["sliding_window"] = 24; });
  auto model = load_model(dir, test::reference_options());
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  EXPECT_EQ((*model)->info().context_length, 24);
  const std::string off = edited_hf_dir("hf-window-off", [](auto& c) {
    c["sliding_window"] = 24;
    c["use_sliding_window"] = false;
  });
  auto full = load_model(off, test::reference_options());
  ASSERT_TRUE(full.ok()) << full.status().to_string();
  EXPECT_EQ((*full)->info().context_length, 64);
}

TEST(LlamaConfigTest, BadLoadOptionsAreRefused) {
  auto model = load_model(test::tiny_llama3_path(), test::reference_options(1, 0));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(model.status().message().find("max_batch_tokens"), std::string::npos);
}

}  // namespace
}  // namespace hearth
