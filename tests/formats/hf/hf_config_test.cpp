// config.json parsing: each case in tests/fixtures/hf/configs/manifest.json
// (make_hf_fixtures.py) gives the listed fields or the listed error.
#include "formats/hf/hf_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace hearth {
namespace {

using nlohmann::json;

json rope_json(const std::optional<HfRopeScaling>& rs) {
  if (!rs) return nullptr;
  json j = {{"rope_type", rs->rope_type}};
  if (rs->factor) j["factor"] = *rs->factor;
  if (rs->low_freq_factor) j["low_freq_factor"] = *rs->low_freq_factor;
  if (rs->high_freq_factor) j["high_freq_factor"] = *rs->high_freq_factor;
  if (rs->original_max_position_embeddings) {
    j["original_max_position_embeddings"] = *rs->original_max_position_embeddings;
  }
  return j;
}

template <typename T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

// The parsed config, as JSON keyed like the manifest's "fields".
json as_json(const HfModelConfig& c) {
  return {{"architectures", c.architectures},
          {"model_type", c.model_type},
          {"hidden_size", c.hidden_size},
          {"num_hidden_layers", c.num_hidden_layers},
          {"num_attention_heads", c.num_attention_heads},
          {"num_key_value_heads", c.num_key_value_heads},
          {"head_dim", c.head_dim},
          {"intermediate_size", opt(c.intermediate_size)},
          {"vocab_size", c.vocab_size},
          {"max_position_embeddings", opt(c.max_position_embeddings)},
          {"rms_norm_eps", opt(c.rms_norm_eps)},
          {"rope_theta", opt(c.rope_theta)},
          {"rope_scaling", rope_json(c.rope_scaling)},
          {"tie_word_embeddings", opt(c.tie_word_embeddings)},
          {"bos_token_ids", c.bos_token_ids},
          {"eos_token_ids", c.eos_token_ids},
          {"torch_dtype", c.torch_dtype},
          {"sliding_window", opt(c.sliding_window)},
          {"quantization", c.quantization ? json{{"group_size", c.quantization->group_size},
                                                 {"bits", c.quantization->bits}}
                                          : json(nullptr)}};
}

TEST(HfConfigTest, ManifestCases) {
  const std::string dir = test::fixture_path("hf/configs");
  const json manifest = json::parse(test::read_file_text(dir + "/manifest.json"));
  ASSERT_GE(manifest.size(), 20u);
  for (const json& entry : manifest) {
    const std::string file = entry["file"].get<std::string>();
    SCOPED_TRACE(file);
    auto config = load_hf_config(dir + "/" + file);
    if (entry.contains("error")) {
      ASSERT_FALSE(config.ok()) << "accepted; expected " << entry["error"];
      EXPECT_EQ(config.status().code(), StatusCode::kCorruptData) << config.status().to_string();
      EXPECT_NE(config.status().message().find(entry["error"].get<std::string>()),
                std::string::npos)
          << config.status().message();
      EXPECT_NE(config.status().message().find(file), std::string::npos);
      continue;
    }
    ASSERT_TRUE(config.ok()) << config.status().to_string();
    const json got = as_json(*config);
    for (const auto& [key, value] : entry["fields"].items()) {
      EXPECT_EQ(got[key], value) << key;
    }
    EXPECT_TRUE(config->raw.is_object());
  }
}

TEST(HfConfigTest, RawJsonKeepsArchitectureSpecificKeys) {
  auto c = load_hf_config(test::fixture_path("hf/tiny_llama/config.json"));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->raw["hidden_act"], "silu");
  EXPECT_EQ(c->raw["attention_bias"], false);
}

TEST(HfConfigTest, MissingFileIsNamed) {
  auto c = load_hf_config("/nonexistent/config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
  EXPECT_NE(c.status().message().find("/nonexistent/config.json"), std::string::npos);
}

}  // namespace
}  // namespace hearth
