// Synthetic models (models/synthetic_model.h), the random-weight models of real shapes that
// `hearth bench --synthetic` runs and llama-bench reads as GGUF. Checked against the published
// parameter counts of the real models, and in-memory against written-to-file.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "backend/reference/dequantize.h"
#include "formats/gguf/gguf_file.h"
#include "models/load_model.h"
#include "models/synthetic_model.h"
#include "support/test_support.h"

namespace hearth {
namespace {

TEST(SyntheticModelTest, ShapesHaveThePublishedParameterCounts) {
  // f32 weights: 4 bytes per parameter read per token, i.e. all but the embedding table.
  auto llama = synthetic_shape("llama3-8b");
  ASSERT_TRUE(llama.ok());
  // Llama-3.1-8B: 8,030,261,248 parameters (Hugging Face model card / safetensors index).
  EXPECT_EQ(synthetic_weight_bytes_per_token(*llama, DType::kF32),
            4ull * (8030261248ull - 128256ull * 4096ull));
  auto qwen = synthetic_shape("qwen3-8b");
  ASSERT_TRUE(qwen.ok());
  // Qwen3-8B: 8,190,735,360 parameters, of which 36 x 2 x 128 are the QK-norm weights left out.
  EXPECT_EQ(synthetic_weight_bytes_per_token(*qwen, DType::kF32),
            4ull * (8190735360ull - 36ull * 256ull - 151936ull * 4096ull));
  // SmolLM2-135M (tied): 134,515,008 parameters, all read (the table is the output head too).
  auto smol = synthetic_shape("smollm2-135m");
  ASSERT_TRUE(smol.ok());
  EXPECT_EQ(synthetic_weight_bytes_per_token(*smol, DType::kF32), 4ull * 134515008ull);
  // q4_0: 18 bytes per 32 weights; norms stay f32.
  const uint64_t norms = 4ull * (32 * 2 + 1) * 4096;
  EXPECT_EQ(synthetic_weight_bytes_per_token(*llama, DType::kQ4_0),
            (8030261248ull - 128256ull * 4096ull - norms / 4) / 32 * 18 + norms);
}

TEST(SyntheticModelTest, UnknownNamesAndTypesAreClearErrors) {
  auto shape = synthetic_shape("llama3-70b");
  ASSERT_FALSE(shape.ok());
  EXPECT_EQ(shape.status().code(), StatusCode::kNotFound);
  EXPECT_NE(shape.status().message().find("llama3-8b"), std::string::npos);
  auto type = synthetic_weight_type("q4_k");
  ASSERT_FALSE(type.ok());
  EXPECT_EQ(type.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(type.status().message().find("q4_0"), std::string::npos);
  EXPECT_TRUE(synthetic_weight_type("Q8_0").ok());
}

TEST(SyntheticModelTest, FileAndMemoryHoldTheSameModelWithRealisticWeights) {
  auto shape = synthetic_shape("smollm2-135m");
  ASSERT_TRUE(shape.ok());
  const std::string path = test::temp_path("synthetic_smollm2_q4_0.gguf");
  ASSERT_TRUE(write_synthetic_gguf(*shape, DType::kQ4_0, 99, path).ok());

  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(*file->architecture(), "llama");
  EXPECT_EQ(*file->get_uint("llama.block_count"), 30u);
  EXPECT_EQ(*file->get_uint("llama.vocab_size"), 49152u);
  EXPECT_EQ(*file->get_string("tokenizer.ggml.model"), "none");
  EXPECT_EQ(file->tensors().size(), 2u + 30u * 9u);  // tied: no output.weight
  const GgufTensorInfo* down = file->find_tensor("blk.29.ffn_down.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->dtype, DType::kQ4_0);
  EXPECT_EQ(down->shape, (Shape{576, 1536}));

  // Weights of about 0.02 standard deviation with no NaN; norm weights near 1.
  std::vector<float> row(1536);
  ASSERT_TRUE(reference::dequantize_rows(file->tensor_view(*down), 7, 1, row.data()).ok());
  double sum2 = 0;
  for (float v : row) {
    ASSERT_TRUE(std::isfinite(v));
    sum2 += double(v) * v;
  }
  const double std = std::sqrt(sum2 / 1536);
  EXPECT_GT(std, 0.01);
  EXPECT_LT(std, 0.04);
  const TensorView norm = file->tensor_view(*file->find_tensor("blk.3.attn_norm.weight"));
  for (int64_t i = 0; i < 576; ++i) {
    const float v = norm.data_as<const float>()[i];
    ASSERT_TRUE(v >= 0.9f && v <= 1.1f) << v;
  }

  // The in-memory model and the file give the same logits on the same backend.
  LoadOptions o;
  o.backend = "cpu";
  o.n_threads = 2;
  auto from_file = load_model(path, o);
  auto in_memory = load_synthetic_model(*shape, DType::kQ4_0, 99, o);
  auto other_seed = load_synthetic_model(*shape, DType::kQ4_0, 100, o);
  ASSERT_TRUE(from_file.ok() && in_memory.ok() && other_seed.ok());
  const std::vector<int32_t> tokens = {1, 500, 49151, 20};
  std::vector<std::vector<float>> logits;
  for (Model* m : {from_file->get(), in_memory->get(), other_seed->get()}) {
    auto cache = m->new_kv_cache(8);
    ASSERT_TRUE(cache.ok());
    logits.emplace_back(49152);
    ASSERT_TRUE(m->forward(**cache, tokens, LogitsFor::kLastToken, logits.back()).ok());
  }
  EXPECT_EQ(logits[0], logits[1]);
  EXPECT_NE(logits[0], logits[2]);
  EXPECT_EQ((*in_memory)->info().n_layers, 30);
  EXPECT_EQ((*in_memory)->info().context_length, 8192);
}

}  // namespace
}  // namespace hearth
