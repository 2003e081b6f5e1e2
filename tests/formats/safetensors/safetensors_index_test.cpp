// Sharded safetensors (model.safetensors.index.json) against shards written by the `safetensors`
// Python package (tests/fixtures/hf/make_hf_fixtures.py), and hostile index files.
#include "formats/safetensors/safetensors_index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backend/reference/dequantize.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using nlohmann::json;

// A tensor's values as f64 via the reference conversion (f32 / f16 fixtures).
std::vector<double> values_of(const TensorView& v) {
  std::vector<float> f(static_cast<size_t>(v.numel()));
  EXPECT_TRUE(reference::dequantize_rows(v, 0, v.rows(), f.data()).ok());
  return {f.begin(), f.end()};
}

TEST(SafetensorsIndexTest, LoadsShardsAsThePythonPackageReadsThem) {
  const std::string dir = test::fixture_path("hf/tiny_llama");
  const json want =
      json::parse(test::read_file_text(test::fixture_path("hf/tiny_llama.expected.json")));
  auto sharded = ShardedSafetensors::open(dir + "/model.safetensors.index.json");
  ASSERT_TRUE(sharded.ok()) << sharded.status().to_string();
  EXPECT_EQ(sharded->index().shard_files,
            (std::vector<std::string>{"model-00001-of-00002.safetensors",
                                      "model-00002-of-00002.safetensors"}));
  auto store = sharded->to_weight_store();
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  ASSERT_EQ(store->size(), want.size());
  uint64_t total = 0;
  for (const auto& [name, w] : want.items()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(sharded->index().weight_map.at(name), w["file"].get<std::string>());
    auto view = store->require(name);
    ASSERT_TRUE(view.ok());
    std::vector<int64_t> dims;
    for (int d = 0; d < view->shape().rank(); ++d) dims.push_back(view->shape()[d]);
    EXPECT_EQ(dims, w["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(dtype_name(view->dtype()),
              w["dtype"].get<std::string>() == "float16" ? "f16" : "f32");
    const std::vector<double> values = values_of(*view);
    double sum = 0;
    for (double x : values) sum += x;
    // Python sums the same f32/f16 values in float64 (pairwise); both are exact to ~1e-15.
    EXPECT_NEAR(sum, w["sum"].get<double>(), 1e-9);
    const auto first = w["first"].get<std::vector<double>>();
    for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(values[i], first[i]);
    total += view->nbytes();
  }
  EXPECT_EQ(sharded->index().total_size, total);
}

TEST(SafetensorsIndexTest, ShardNamesMustStayInsideTheDirectory) {
  EXPECT_TRUE(check_shard_name("model-00001-of-00002.safetensors").ok());
  EXPECT_TRUE(check_shard_name("shards/part-1.safetensors").ok());
  for (const char* bad : {"", "/etc/passwd", "../model.safetensors", "a/../../b", "a//b", "./a",
                          "a\\..\\b", "dir/"}) {
    const Status st = check_shard_name(bad);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(check_shard_name("../x").message().find("'..' path component"), std::string::npos);

  auto escaping =
      ShardedSafetensors::open(test::fixture_path("hf/tiny_escape/model.safetensors.index.json"));
  ASSERT_FALSE(escaping.ok());
  EXPECT_NE(escaping.status().message().find(
                "weight_map entry for 'model.norm.weight': shard file name "
                "'../tiny_llama/model-00002-of-00002.safetensors' has a '..' path component"),
            std::string::npos)
      << escaping.status().message();
}

TEST(SafetensorsIndexTest, MalformedIndexesAreRejectedByName) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {R"([1])", "is not a JSON object"},
      {R"({"metadata": {}})", "has no \"weight_map\" object"},
      {R"({"weight_map": {}})", "has an empty weight_map"},
      {R"({"weight_map": {"w": 3}})", "weight_map entry for 'w' must be a file name, got number 3"},
      {R"({"weight_map": {"w": "/abs.safetensors"}})", "is an absolute path"},
      {R"({"metadata": {"total_size": -1}, "weight_map": {"w": "a"}})",
       "metadata.total_size must be a non-negative integer"},
      {R"({"metadata": [], "weight_map": {"w": "a"}})", "\"metadata\" must be an object"},
      {R"({"weight_map": {"w": "a", "w": "b"}})", "duplicate key 'w'"},
  };
  for (const Case& c : cases) {
    auto index = parse_safetensors_index(c.text, "index.json");
    ASSERT_FALSE(index.ok()) << c.text;
    EXPECT_NE(index.status().message().find(c.error), std::string::npos)
        << c.text << " -> " << index.status().message();
  }
}

TEST(SafetensorsIndexTest, MissingShardOrTensorIsNamed) {
  namespace fs = std::filesystem;
  const fs::path dir = test::temp_path("sharded_missing");
  fs::create_directories(dir);
  fs::copy_file(test::fixture_path("hf/tiny_llama/model-00002-of-00002.safetensors"),
                dir / "b.safetensors", fs::copy_options::overwrite_existing);
  std::ofstream(dir / "missing_shard.json") << R"({"weight_map": {"x": "a.safetensors"}})";
  std::ofstream(dir / "missing_tensor.json") << R"({"weight_map": {"nope": "b.safetensors"}})";

  auto no_shard = ShardedSafetensors::open((dir / "missing_shard.json").string());
  ASSERT_FALSE(no_shard.ok());
  EXPECT_EQ(no_shard.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_shard.status().message().find("shard 'a.safetensors'"), std::string::npos)
      << no_shard.status().message();

  auto no_tensor = ShardedSafetensors::open((dir / "missing_tensor.json").string());
  ASSERT_TRUE(no_tensor.ok()) << no_tensor.status().to_string();
  auto store = no_tensor->to_weight_store();
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(
                "maps tensor 'nope' to 'b.safetensors', but that shard has no such tensor"),
            std::string::npos)
      << store.status().message();
}

}  // namespace
}  // namespace hearth
