// RoPE frequencies (with linear and Llama 3 scaling) against transformers'
// ROPE_INIT_FUNCTIONS (fixtures/models/tiny/rope_goldens.json), and the validation of
// rope parameters.
#include "models/layers/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace hearth {
namespace {

RopeConfig config_for(const nlohmann::json& c) {
  RopeConfig config;
  config.head_dim = c["head_dim"];
  config.rotary_dim = c["head_dim"];
  config.freq_base = c["freq_base"];
  const auto& s = c["scaling"];
  if (!s.is_null()) {
    config.scaling.factor = s["factor"];
    if (s["rope_type"] == "linear") {
      config.scaling.type = RopeScaling::Type::kLinear;
    } else {
      config.scaling.type = RopeScaling::Type::kLlama3;
      config.scaling.low_freq_factor = s["low_freq_factor"];
      config.scaling.high_freq_factor = s["high_freq_factor"];
      config.scaling.original_context_length = s["original_max_position_embeddings"];
    }
  }
  return config;
}

TEST(RopeSpecTest, InverseFrequenciesMatchTransformers) {
  const auto goldens = nlohmann::json::parse(
      test::read_file_text(test::fixture_path("models/tiny/rope_goldens.json")));
  ASSERT_EQ(goldens["cases"].size(), 3u);
  for (const auto& c : goldens["cases"]) {
    auto spec = make_rope_spec(config_for(c));
    ASSERT_TRUE(spec.ok()) << spec.status().to_string();
    const auto want = c["inv_freq"].get<std::vector<double>>();
    ASSERT_EQ(spec->inv_freq.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      // transformers computes in float32: a few ulps of 2^-24 relative.
      EXPECT_NEAR(spec->inv_freq[i], want[i], 1e-6 * want[i]) << c["label"] << " pair " << i;
    }
  }
}

TEST(RopeSpecTest, FreqFactorsDivideTheFrequencies) {
  RopeConfig config;
  config.head_dim = config.rotary_dim = 4;
  config.freq_base = 100.0;
  config.freq_factors = {1.0f, 8.0f};
  auto spec = make_rope_spec(config);
  ASSERT_TRUE(spec.ok());
  EXPECT_DOUBLE_EQ(spec->inv_freq[0], 1.0);
  EXPECT_DOUBLE_EQ(spec->inv_freq[1], 0.1 / 8.0);
}

TEST(RopeSpecTest, InvalidParametersAreRefused) {
  RopeConfig base;
  base.head_dim = base.rotary_dim = 8;
  const auto refused = [](RopeConfig c, const std::string& needle) {
    auto spec = make_rope_spec(c);
    ASSERT_FALSE(spec.ok()) << needle;
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(spec.status().message().find(needle), std::string::npos) << spec.status().message();
  };
  RopeConfig c = base;
  c.rotary_dim = 7;
  refused(c, "rope dimension 7");
  c = base;
  c.rotary_dim = 10;
  refused(c, "rope dimension 10");
  c = base;
  c.freq_base = -1;
  refused(c, "frequency base");
  c = base;
  c.freq_base = NAN;
  refused(c, "frequency base");
  c = base;
  c.scaling.type = RopeScaling::Type::kLinear;
  c.scaling.factor = 0;
  refused(c, "scaling factor");
  c = base;
  c.scaling.type = RopeScaling::Type::kLlama3;
  c.scaling.factor = 8;
  c.scaling.low_freq_factor = 4;
  c.scaling.high_freq_factor = 4;
  refused(c, "llama3");
  c = base;
  c.freq_factors = {1, 1, 1};
  refused(c, "rope_freqs");
  c = base;
  c.freq_factors = {1, 0, 1, 1};
  refused(c, "rope_freqs factor 1");
}

}  // namespace
}  // namespace hearth
