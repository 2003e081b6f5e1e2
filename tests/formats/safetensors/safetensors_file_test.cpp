// The safetensors reader against files written by the `safetensors` Python package
// (tests/fixtures/safetensors/make_safetensors_fixtures.py) and against hand-made broken files.
#include "formats/safetensors/safetensors_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "backend/reference/dequantize.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using nlohmann::json;

std::string to_hex(std::span<const uint8_t> bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

TEST(SafetensorsFileTest, ReadsEveryDTypeAsThePythonPackageWroteIt) {
  const std::string path = test::fixture_path("safetensors/dtypes.safetensors");
  const json want =
      json::parse(test::read_file_text(test::fixture_path("safetensors/dtypes.expected.json")));
  auto f = SafetensorsFile::open(path);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->header_bytes(), want["header_bytes"].get<uint64_t>());
  using StringMap = std::map<std::string, std::string>;
  EXPECT_EQ(f->metadata(), want["metadata"].get<StringMap>());
  ASSERT_EQ(f->tensors().size(), want["tensors"].size());
  std::set<DType> seen;
  int converted = 0;
  for (size_t i = 0; i < f->tensors().size(); ++i) {
    const SafetensorsTensorInfo& ti = f->tensors()[i];
    const json& w = want["tensors"][i];  // both in data-section order
    SCOPED_TRACE(w["name"].get<std::string>());
    EXPECT_EQ(ti.name, w["name"].get<std::string>());
    EXPECT_EQ(safetensors_name_of(ti.dtype), w["dtype"].get<std::string>());
    EXPECT_EQ(ti.dims, w["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(ti.begin, w["data_offsets"][0].get<uint64_t>());
    EXPECT_EQ(ti.end, w["data_offsets"][1].get<uint64_t>());
    EXPECT_EQ(to_hex(f->tensor_bytes(ti)), w["data_hex"].get<std::string>());
    auto view = f->tensor_view(ti);
    ASSERT_TRUE(view.ok()) << view.status().to_string();
    EXPECT_EQ(view->nbytes(), ti.nbytes());
    EXPECT_EQ(static_cast<uint64_t>(view->numel()), ti.numel());
    if (reference::can_dequantize(ti.dtype) && ti.numel() > 0) {
      // Float types through the reference conversion: exact (F64 rounds once to f32).
      std::vector<float> got(static_cast<size_t>(ti.numel()));
      ASSERT_TRUE(reference::dequantize_rows(*view, 0, view->rows(), got.data()).ok());
      ASSERT_EQ(got.size(), w["values"].size());
      for (size_t j = 0; j < got.size(); ++j) {
        const json& v = w["values"][j];
        if (v == "nan") {
          EXPECT_TRUE(std::isnan(got[j])) << j;
        } else if (v.is_string()) {
          EXPECT_EQ(got[j], v == "inf" ? INFINITY : -INFINITY) << j;
        } else {
          const auto want_value = static_cast<float>(v.get<double>());
          EXPECT_EQ(got[j], want_value) << j;
          EXPECT_EQ(std::signbit(got[j]), std::signbit(want_value)) << j;
        }
      }
      ++converted;
    }
    seen.insert(ti.dtype);
  }
  EXPECT_EQ(seen.size(), 15u) << "every safetensors dtype hearth reads is covered";
  EXPECT_EQ(converted, 7) << "f64 f32 f16 bf16 f8_e4m3 f8_e5m2 and the f32 scalar";
  const SafetensorsTensorInfo* scalar = f->find_tensor("scalar");
  ASSERT_NE(scalar, nullptr);
  EXPECT_TRUE(scalar->dims.empty());
  EXPECT_EQ(scalar->numel(), 1u);
  auto store = f->to_weight_store();
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ(store->size(), f->tensors().size());
  EXPECT_EQ(store->require("bf16", Shape{5, 2})->dtype(), DType::kBF16);
}

TEST(SafetensorsFileTest, UnknownDTypeIsNamed) {
  auto f = SafetensorsFile::open(test::fixture_path("safetensors/f8_e8m0.safetensors"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(f.status().message().find("tensor 'scale' has dtype 'F8_E8M0'"), std::string::npos)
      << f.status().message();
}

TEST(SafetensorsFileTest, EachMalformedFileGivesItsDocumentedError) {
  const std::string dir = test::fixture_path("safetensors/malformed");
  const json manifest = json::parse(test::read_file_text(dir + "/manifest.json"));
  ASSERT_GE(manifest.size(), 15u);
  std::set<std::string> listed;
  for (const json& entry : manifest) {
    const std::string file = entry["file"].get<std::string>();
    SCOPED_TRACE(file);
    listed.insert(file);
    auto f = SafetensorsFile::open(dir + "/" + file);
    ASSERT_FALSE(f.ok()) << "accepted: " << entry["what"];
    EXPECT_EQ(status_code_name(f.status().code()), entry["code"].get<std::string>())
        << f.status().to_string();
    EXPECT_NE(f.status().message().find(entry["error"].get<std::string>()), std::string::npos)
        << f.status().to_string();
    EXPECT_NE(f.status().message().find(file), std::string::npos) << "error does not name the file";
  }
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".safetensors") {
      EXPECT_TRUE(listed.count(e.path().filename().string())) << e.path() << " not in manifest";
    }
  }
}

TEST(SafetensorsFileTest, EveryTruncationIsAnError) {
  const std::vector<uint8_t> full =
      test::read_file_bytes(test::fixture_path("safetensors/dtypes.safetensors"));
  ASSERT_TRUE(SafetensorsFile::parse({full.data(), full.size()}).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    auto f = SafetensorsFile::parse({full.data(), n});
    ASSERT_FALSE(f.ok()) << "prefix of " << n << " bytes accepted";
    EXPECT_EQ(f.status().code(), StatusCode::kCorruptData) << n << ": " << f.status().to_string();
  }
}

TEST(SafetensorsFileTest, HeaderLimitIsConfigurable) {
  const std::vector<uint8_t> full =
      test::read_file_bytes(test::fixture_path("safetensors/dtypes.safetensors"));
  SafetensorsLimits tight;
  tight.max_header_bytes = 64;
  auto f = SafetensorsFile::parse({full.data(), full.size()}, tight);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("exceeds the limit of 64 bytes"), std::string::npos)
      << f.status().message();
}

TEST(SafetensorsFileTest, RankAboveFourIsRefusedByName) {
  std::string header = R"({"t":{"dtype":"U8","shape":[1,1,1,1,2],"data_offsets":[0,2]}})";
  std::vector<uint8_t> bytes(8);
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.push_back(1);
  bytes.push_back(2);
  auto f = SafetensorsFile::parse({bytes.data(), bytes.size()});
  ASSERT_TRUE(f.ok()) << f.status().to_string();  // a valid file ...
  auto store = f->to_weight_store();              // ... that hearth cannot view
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(store.status().message().find("tensor 't' has 5 dimensions"), std::string::npos);
}

}  // namespace
}  // namespace hearth
