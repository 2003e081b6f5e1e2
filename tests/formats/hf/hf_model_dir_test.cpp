// Hugging Face model directories (tests/fixtures/hf, written by make_hf_fixtures.py with the
// `safetensors` package): sharded and single-file weights into one WeightStore.
#include "formats/hf/hf_model_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace hearth {
namespace {

using nlohmann::json;

void expect_store_matches(const WeightStore& store, const std::string& expected_json) {
  const json want = json::parse(test::read_file_text(test::fixture_path(expected_json)));
  ASSERT_EQ(store.size(), want.size());
  for (const auto& [name, w] : want.items()) {
    const TensorView* v = store.find(name);
    ASSERT_NE(v, nullptr) << name;
    std::vector<int64_t> dims;
    for (int d = 0; d < v->shape().rank(); ++d) dims.push_back(v->shape()[d]);
    EXPECT_EQ(dims, w["shape"].get<std::vector<int64_t>>()) << name;
  }
}

TEST(HfModelDirTest, ShardedLlama) {
  const std::string dir = test::fixture_path("hf/tiny_llama");
  EXPECT_TRUE(is_hf_model_dir(dir));
  auto model = open_hf_model_dir(dir);
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  EXPECT_EQ(model->config.model_type, "llama");
  EXPECT_EQ(model->config.num_key_value_heads, 2);
  EXPECT_EQ(model->config.head_dim, 4);
  EXPECT_EQ(model->weight_files.size(), 3u);  // index + 2 shards
  expect_store_matches(model->weights, "hf/tiny_llama.expected.json");
  EXPECT_TRUE(model->weights.require("model.layers.1.mlp.down_proj.weight", Shape{16, 32}).ok());
}

TEST(HfModelDirTest, MlxQuantizedSingleFile) {
  auto model = open_hf_model_dir(test::fixture_path("hf/tiny_mlx_q4"));
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  ASSERT_TRUE(model->config.quantization.has_value());
  EXPECT_EQ(model->config.quantization->bits, 4);
  EXPECT_EQ(model->config.quantization->group_size, 32);
  EXPECT_EQ(model->weight_files, std::vector<std::string>{"model.safetensors"});
  expect_store_matches(model->weights, "hf/tiny_mlx_q4.expected.json");
  const TensorView* packed = model->weights.find("model.embed_tokens.weight");
  ASSERT_NE(packed, nullptr);
  EXPECT_EQ(packed->dtype(), DType::kU32);
}

TEST(HfModelDirTest, MissingPiecesAreNamed) {
  namespace fs = std::filesystem;
  auto not_dir = open_hf_model_dir("/nonexistent/model");
  EXPECT_EQ(not_dir.status().code(), StatusCode::kNotFound);

  const fs::path empty = test::temp_path("hf_empty");
  fs::create_directories(empty);
  auto no_config = open_hf_model_dir(empty.string());
  EXPECT_EQ(no_config.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_config.status().message().find("has no config.json"), std::string::npos);
  EXPECT_FALSE(is_hf_model_dir(empty.string()));

  fs::copy_file(test::fixture_path("hf/tiny_llama/config.json"), empty / "config.json",
                fs::copy_options::overwrite_existing);
  auto no_weights = open_hf_model_dir(empty.string());
  EXPECT_EQ(no_weights.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_weights.status().message().find(
                "has neither model.safetensors nor model.safetensors.index.json"),
            std::string::npos)
      << no_weights.status().message();

  std::ofstream(empty / "config.json") << R"({"model_type": "llama"})";
  auto bad_config = open_hf_model_dir(empty.string());
  EXPECT_EQ(bad_config.status().code(), StatusCode::kCorruptData);
  EXPECT_NE(bad_config.status().message().find("required field 'hidden_size' is missing"),
            std::string::npos);
}

}  // namespace
}  // namespace hearth
