// The safetensors writer: its output for a fixed set of tensors is committed as
// tests/fixtures/safetensors/written_by_hearth.safetensors, which make_safetensors_fixtures.py
// reads back with the `safetensors` Python package and checks value by value. Regenerate with
// HEARTH_UPDATE_FIXTURES=1 (then rerun the Python script).
#include "formats/safetensors/safetensors_writer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/fp16.h"
#include "formats/safetensors/safetensors_file.h"
#include "support/test_support.h"

namespace hearth {
namespace {

template <typename T>
std::span<const uint8_t> bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(T)};
}

// The same tensors and formulas as check_written_by_hearth() in make_safetensors_fixtures.py.
SafetensorsWriter reference_writer() {
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.set_metadata("written_by", "hearth");
  std::vector<float> embed(12);
  for (size_t i = 0; i < embed.size(); ++i) embed[i] = static_cast<float>(i) * 0.5f - 3.0f;
  const std::vector<uint16_t> norm = {f32_to_fp16(1.0f), f32_to_fp16(0.5f), f32_to_fp16(-2.0f)};
  const std::vector<uint32_t> qweight = {0x01234567u, 0x89ABCDEFu, 0u, 0xFFFFFFFFu};
  const std::vector<int64_t> positions = {0, 1, 2, 3, 4};
  const std::vector<uint8_t> mask = {1, 0, 0, 1};
  const std::vector<uint16_t> bf16 = {f32_to_bf16(1.0f), f32_to_bf16(-3.0f)};
  const std::vector<double> scalar = {2.25};
  EXPECT_TRUE(w.add_tensor("model.norm.weight", DType::kF16, {3}, bytes_of(norm)).ok());
  EXPECT_TRUE(w.add_tensor("model.embed_tokens.weight", DType::kF32, {4, 3}, bytes_of(embed)).ok());
  EXPECT_TRUE(w.add_tensor("mask", DType::kBool, {2, 2}, bytes_of(mask)).ok());
  EXPECT_TRUE(
      w.add_tensor("model.layers.0.mlp.qweight", DType::kU32, {2, 2}, bytes_of(qweight)).ok());
  EXPECT_TRUE(w.add_tensor("positions", DType::kI64, {5}, bytes_of(positions)).ok());
  EXPECT_TRUE(w.add_tensor("bf16", DType::kBF16, {2}, bytes_of(bf16)).ok());
  EXPECT_TRUE(w.add_tensor("scalar", DType::kF64, {}, bytes_of(scalar)).ok());
  return w;
}

TEST(SafetensorsWriterTest, OutputIsTheFileVerifiedByPython) {
  const std::vector<uint8_t> bytes = reference_writer().serialize();
  const std::string fixture = test::fixture_path("safetensors/written_by_hearth.safetensors");
  if (std::getenv("HEARTH_UPDATE_FIXTURES")) {
    ASSERT_TRUE(reference_writer().write(fixture).ok());
    GTEST_SKIP() << "wrote " << fixture << "; now run make_safetensors_fixtures.py to verify it";
  }
  EXPECT_EQ(bytes, test::read_file_bytes(fixture))
      << "writer output changed; regenerate with HEARTH_UPDATE_FIXTURES=1 and re-verify in Python";
}

TEST(SafetensorsWriterTest, RoundTripsThroughTheReaderAligned) {
  const std::vector<uint8_t> bytes = reference_writer().serialize();
  auto f = SafetensorsFile::parse({bytes.data(), bytes.size()});
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->data_offset() % 8, 0u);
  EXPECT_EQ(f->metadata().at("written_by"), "hearth");
  ASSERT_EQ(f->tensors().size(), 7u);
  uint64_t expected_begin = 0;
  for (const SafetensorsTensorInfo& ti : f->tensors()) {
    EXPECT_EQ(ti.begin, expected_begin) << ti.name << ": tensors are contiguous";
    EXPECT_EQ(ti.begin % dtype_traits(ti.dtype).block_bytes, 0u) << ti.name << " is aligned";
    expected_begin = ti.end;
  }
  EXPECT_EQ(expected_begin, f->data_bytes());
  const auto embed = f->tensor_view(*f->find_tensor("model.embed_tokens.weight"));
  ASSERT_TRUE(embed.ok());
  EXPECT_EQ(embed->data_as<const float>()[11], 2.5f);
}

TEST(SafetensorsWriterTest, RejectsBadInput) {
  SafetensorsWriter w;
  const std::vector<uint8_t> four(4);
  EXPECT_EQ(w.add_tensor("q", DType::kQ4_0, {32}, four).code(), StatusCode::kUnsupported);
  EXPECT_EQ(w.add_tensor("x", DType::kF32, {2}, four).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w.add_tensor("__metadata__", DType::kU8, {4}, four).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(w.add_tensor("", DType::kU8, {4}, four).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w.add_tensor("neg", DType::kU8, {-4}, four).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(w.add_tensor("x", DType::kU8, {4}, four).ok());
  EXPECT_EQ(w.add_tensor("x", DType::kU8, {4}, four).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hearth
