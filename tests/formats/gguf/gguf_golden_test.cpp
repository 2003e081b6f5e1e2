// The GGUF reader and reference dequantization against goldens written by the independent `gguf`
// Python package on the two real models (tests/fixtures/gguf/make_gguf_goldens.py).
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend/reference/dequantize.h"
#include "formats/gguf/gguf_file.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using nlohmann::json;

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

// The canonical array encoding defined in make_gguf_goldens.py: u32 element type, u64 count,
// then each element in its GGUF width (strings length-prefixed, arrays recursively).
void encode_array(const GgufArray& a, std::vector<uint8_t>& out) {
  put<uint32_t>(out, static_cast<uint32_t>(a.elem_type));
  put<uint64_t>(out, a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    switch (a.elem_type) {
      case GgufType::kString:
        put<uint64_t>(out, a.strings[i].size());
        out.insert(out.end(), a.strings[i].begin(), a.strings[i].end());
        break;
      case GgufType::kArray:
        encode_array(a.arrays[i], out);
        break;
      case GgufType::kFloat32:
        put<float>(out, static_cast<float>(a.floats[i]));
        break;
      case GgufType::kFloat64:
        put<double>(out, a.floats[i]);
        break;
      default: {
        const auto bits = static_cast<uint64_t>(a.ints[i]);
        switch (gguf_type_fixed_size(a.elem_type)) {
          case 1:
            put<uint8_t>(out, static_cast<uint8_t>(bits));
            break;
          case 2:
            put<uint16_t>(out, static_cast<uint16_t>(bits));
            break;
          case 4:
            put<uint32_t>(out, static_cast<uint32_t>(bits));
            break;
          default:
            put<uint64_t>(out, bits);
            break;
        }
      }
    }
  }
}

std::string sha256_hex(const std::vector<uint8_t>& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr), 1);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

// One array element as the JSON value the golden stores.
json array_element(const GgufArray& a, size_t i) {
  switch (a.elem_type) {
    case GgufType::kString:
      return a.strings[i];
    case GgufType::kFloat32:
    case GgufType::kFloat64:
      return a.floats[i];
    case GgufType::kBool:
      return a.ints[i] != 0;
    case GgufType::kUint64:
      return static_cast<uint64_t>(a.ints[i]);
    default:
      return a.ints[i];
  }
}

json scalar_json(const GgufValue& v) {
  switch (v.type) {
    case GgufType::kString:
      return v.s;
    case GgufType::kFloat32:
    case GgufType::kFloat64:
      return v.f;
    case GgufType::kBool:
      return v.bits != 0;
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
    case GgufType::kInt64:
      return static_cast<int64_t>(v.bits);
    default:
      return v.bits;
  }
}

void check_metadata(const GgufFile& f, const json& golden) {
  const auto& want = golden["metadata"];
  ASSERT_EQ(f.metadata().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const GgufKeyValue& kv = f.metadata()[i];
    const json& w = want[i];
    SCOPED_TRACE(w["key"].get<std::string>());
    EXPECT_EQ(kv.key, w["key"].get<std::string>());  // file order is kept
    EXPECT_EQ(gguf_type_name(kv.value.type), w["type"].get<std::string>());
    if (kv.value.type != GgufType::kArray) {
      EXPECT_EQ(scalar_json(kv.value), w["value"]);
      continue;
    }
    const GgufArray& a = kv.value.arr;
    EXPECT_EQ(gguf_type_name(a.elem_type), w["elem_type"].get<std::string>());
    ASSERT_EQ(a.size(), w["length"].get<size_t>());
    std::vector<uint8_t> encoded;
    encode_array(a, encoded);
    EXPECT_EQ(sha256_hex(encoded), w["sha256"].get<std::string>());
    if (w.contains("value")) {
      for (size_t j = 0; j < a.size(); ++j) EXPECT_EQ(array_element(a, j), w["value"][j]) << j;
    } else {
      const auto& head = w["head"];
      const auto& tail = w["tail"];
      for (size_t j = 0; j < head.size(); ++j) EXPECT_EQ(array_element(a, j), head[j]) << j;
      for (size_t j = 0; j < tail.size(); ++j) {
        EXPECT_EQ(array_element(a, a.size() - tail.size() + j), tail[j]) << j;
      }
    }
  }
}

void check_tensor_infos(const GgufFile& f, const json& golden) {
  const auto& want = golden["tensors"];
  ASSERT_EQ(f.tensors().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const GgufTensorInfo& ti = f.tensors()[i];
    const json& w = want[i];
    SCOPED_TRACE(w["name"].get<std::string>());
    EXPECT_EQ(ti.name, w["name"].get<std::string>());
    EXPECT_EQ(ti.ggml_type, w["ggml_type_id"].get<uint32_t>());
    EXPECT_EQ(ggml_type_display_name(ti.ggml_type), w["ggml_type"].get<std::string>());
    EXPECT_EQ(ti.ne, w["ne"].get<std::vector<uint64_t>>());
    ASSERT_EQ(ti.shape.rank(), static_cast<int>(ti.ne.size()));
    for (int d = 0; d < ti.shape.rank(); ++d) {
      EXPECT_EQ(static_cast<uint64_t>(ti.shape[d]),
                ti.ne[ti.ne.size() - 1 - static_cast<size_t>(d)]);
    }
    EXPECT_EQ(ti.offset, w["offset"].get<uint64_t>());
    EXPECT_EQ(ti.nbytes, w["n_bytes"].get<uint64_t>());
  }
}

// Row values: the tolerance of tests/backend/reference/dequantize_test.cpp (bit-identical in
// practice; one extra rounding of a block-max-sized term allowed for FMA contraction).
// Whole-tensor sums: hearth sums the float32 values in double with Neumaier compensation
// (error <= 2 eps * sum|x|), numpy pairwise (error <= eps * log2(n) * sum|x|, n < 2^28), so
// 1e-12 * sum|x| covers both with a wide margin while still catching any systematic error.
void check_samples(const GgufFile& f, const json& golden) {
  ASSERT_FALSE(golden["samples"].empty());
  for (const json& sample : golden["samples"]) {
    const std::string name = sample["name"].get<std::string>();
    SCOPED_TRACE(name);
    const GgufTensorInfo* ti = f.find_tensor(name);
    ASSERT_NE(ti, nullptr);
    const TensorView view = f.tensor_view(*ti);
    const int64_t cols = view.cols();
    const int64_t block = dtype_traits(view.dtype()).block_elems;
    std::vector<float> row(static_cast<size_t>(cols));
    for (const auto& [row_index, values] : sample["rows"].items()) {
      const int64_t r = std::stoll(row_index);
      ASSERT_TRUE(reference::dequantize_rows(view, r, 1, row.data()).ok());
      const auto want = values.get<std::vector<double>>();
      ASSERT_EQ(want.size(), row.size());
      for (int64_t b = 0; b < cols; b += block) {
        float block_max = 0;
        for (int64_t j = b; j < b + block; ++j) {
          block_max =
              std::max(block_max, std::fabs(static_cast<float>(want[static_cast<size_t>(j)])));
        }
        for (int64_t j = b; j < b + block; ++j) {
          const auto w = static_cast<float>(want[static_cast<size_t>(j)]);
          ASSERT_LE(std::fabs(row[static_cast<size_t>(j)] - w), 2 * FLT_EPSILON * block_max)
              << "row " << r << " col " << j;
        }
      }
    }
    double sum = 0, sum_c = 0, sum_abs = 0, sum_abs_c = 0;
    auto add = [](double& s, double& c, double x) {  // Neumaier compensated summation
      const double t = s + x;
      c += std::fabs(s) >= std::fabs(x) ? (s - t) + x : (x - t) + s;
      s = t;
    };
    for (int64_t r = 0; r < view.rows(); ++r) {
      ASSERT_TRUE(reference::dequantize_rows(view, r, 1, row.data()).ok());
      for (float x : row) {
        add(sum, sum_c, x);
        add(sum_abs, sum_abs_c, std::fabs(x));
      }
    }
    sum += sum_c;
    sum_abs += sum_abs_c;
    EXPECT_EQ(view.numel(), sample["count"].get<int64_t>());
    const double tol = 1e-12 * sample["sum_abs"].get<double>();
    EXPECT_NEAR(sum, sample["sum"].get<double>(), tol);
    EXPECT_NEAR(sum_abs, sample["sum_abs"].get<double>(), tol);
  }
}

void check_model(const std::string& path, const std::string& golden_name) {
  const std::string golden_path = test::fixture_path("gguf/goldens/" + golden_name);
  const std::string text = test::read_file_text(golden_path);
  ASSERT_FALSE(text.empty()) << "missing golden " << golden_path;
  const json golden = json::parse(text);
  ASSERT_EQ(std::filesystem::file_size(path), golden["file_size"].get<uint64_t>())
      << path << " is not the file the goldens were made from";
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(file->version(), golden["version"].get<uint32_t>());
  EXPECT_EQ(file->alignment(), golden["alignment"].get<uint32_t>());
  EXPECT_EQ(file->data_offset(), golden["data_offset"].get<uint64_t>());
  check_metadata(*file, golden);
  check_tensor_infos(*file, golden);
  check_samples(*file, golden);
}

TEST(GgufGoldenTest, SmolLM2MatchesGgufPackage) {
  HEARTH_REQUIRE_PATH(model, test::default_model_path(), "SmolLM2-135M-Instruct.Q4_1.gguf");
  check_model(model, "smollm2-135m-instruct-q4_1.json");
}

TEST(GgufGoldenTest, Gemma3MatchesGgufPackage) {
  HEARTH_REQUIRE_PATH(model, test::gemma3_model_path(), "gemma-3-270m-q4_k_m.gguf");
  check_model(model, "gemma-3-270m-q4_k_m.json");
}

TEST(GgufGoldenTest, WeightStoreViewsEveryTensor) {
  HEARTH_REQUIRE_PATH(model, test::default_model_path(), "SmolLM2-135M-Instruct.Q4_1.gguf");
  auto file = GgufFile::open(model);
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  auto store = file->to_weight_store();
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_EQ(store->size(), file->tensors().size());
  auto embd = store->require("token_embd.weight", Shape{49152, 576});
  ASSERT_TRUE(embd.ok()) << embd.status().to_string();
  EXPECT_EQ(embd->dtype(), DType::kQ8_0);
  const auto wrong = store->require("token_embd.weight", Shape{576, 49152});
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hearth
