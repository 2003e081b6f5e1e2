// Regression tests for the classes of GGUF-loading vulnerabilities llama.cpp had, each built as a
// hostile file that must give a clear error naming the field, never a crash or an out-of-bounds
// read. Run under ASan/UBSan in the sanitizer build.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_test_bytes.h"
#include "formats/gguf/gguf_writer.h"

namespace hearth {
namespace {

using test::GgufBytes;

constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ4_0 = 2;

// The parse fails with `code` and a message containing `needle`.
void expect_error(const GgufBytes& b, StatusCode code, const std::string& needle,
                  const GgufLimits& limits = {}) {
  auto f = GgufFile::parse(b.span(), limits);
  ASSERT_FALSE(f.ok()) << "hostile file was accepted; expected: " << needle;
  EXPECT_EQ(f.status().code(), code) << f.status().to_string();
  EXPECT_NE(f.status().message().find(needle), std::string::npos)
      << "message: " << f.status().message() << "\nexpected to contain: " << needle;
}

void expect_corrupt(const GgufBytes& b, const std::string& needle, const GgufLimits& limits = {}) {
  expect_error(b, StatusCode::kCorruptData, needle, limits);
}

// CVE-2024-21825: an array's element count times the element size overflowed, so the array was
// allocated too small and filled past its end.
TEST(GgufHostileTest, Cve2024_21825_ArrayElementCountOverflow) {
  GgufBytes huge;
  huge.header(0, 1).str("tokenizer.ggml.tokens").type(GgufType::kArray);
  huge.type(GgufType::kString).u64(uint64_t{1} << 61).str("a");
  expect_corrupt(
      huge, "metadata 'tokenizer.ggml.tokens' has 2305843009213693952 elements, over the limit");

  // Under the count limit, but count * 8 (the smallest string) wraps 64 bits.
  GgufLimits no_limit;
  no_limit.max_array_elems = UINT64_MAX;
  expect_corrupt(huge, "claims 2305843009213693952 elements of type string but only", no_limit);

  // A count the file plainly cannot hold is refused before anything is allocated.
  GgufBytes short_file;
  short_file.header(0, 1).str("scores").type(GgufType::kArray).type(GgufType::kFloat32);
  short_file.u64(1000).zeros(16);
  expect_corrupt(short_file,
                 "metadata 'scores' claims 1000 elements of type float32 but only 16 bytes remain");

  // Nested arrays are bounded in depth.
  GgufBytes deep;
  deep.header(0, 1).str("deep").type(GgufType::kArray);
  for (int i = 0; i < 8; ++i) deep.type(GgufType::kArray).u64(1);
  deep.type(GgufType::kUint8).u64(1).u8(0);
  expect_corrupt(deep, "nests arrays deeper than 4 levels");
}

// CVE-2024-23496: a string length of 2^64 - 1 made `calloc(len + 1)` allocate zero bytes, then
// the string was read into it.
TEST(GgufHostileTest, Cve2024_23496_StringLengthOverflow) {
  GgufBytes key;
  key.header(0, 1).u64(UINT64_MAX).raw("general.name");
  expect_corrupt(key,
                 "metadata key #0 length 18446744073709551615 exceeds the limit of 4096 bytes");

  GgufBytes value;
  value.header(0, 1).str("general.name").type(GgufType::kString).u64(UINT64_MAX).raw("x");
  expect_corrupt(value, "metadata 'general.name' length 18446744073709551615 exceeds the limit");

  GgufLimits no_limit;
  no_limit.max_string_bytes = UINT64_MAX;
  expect_corrupt(value,
                 "file is truncated: metadata 'general.name' needs 18446744073709551615 bytes",
                 no_limit);

  GgufBytes name;
  name.header(1, 0).u64(UINT64_MAX - 7).raw("w").zeros(32);
  expect_corrupt(name, "tensor info #0 name length 18446744073709551608 exceeds the limit");
}

// CVE-2024-21802: n_dims was not checked against the 4 slots of `ne`, so a tensor info with more
// dimensions wrote past them; the element count could also overflow.
TEST(GgufHostileTest, Cve2024_21802_TensorDimensionsOverflow) {
  GgufBytes five;
  five.header(1, 0).tensor_info("w", {1, 1, 1, 1, 1}, kF32, 0);
  expect_corrupt(five, "tensor 'w' has 5 dimensions (must be 1..4)");

  GgufBytes many;
  many.header(1, 0).str("w").u32(UINT32_MAX).zeros(64);
  expect_corrupt(many, "tensor 'w' has 4294967295 dimensions (must be 1..4)");

  GgufBytes zero;
  zero.header(1, 0).tensor_info("w", {}, kF32, 0).zeros(32);
  expect_corrupt(zero, "tensor 'w' has 0 dimensions");

  GgufBytes negative;  // an ne that is negative as int64
  negative.header(1, 0).tensor_info("w", {32, uint64_t{1} << 63}, kF32, 0);
  expect_corrupt(negative, "tensor 'w' has invalid dimension 1 = 9223372036854775808");

  GgufBytes numel;  // 2^32 * 2^32 elements
  numel.header(1, 0).tensor_info("w", {uint64_t{1} << 32, uint64_t{1} << 32}, kF32, 0);
  expect_corrupt(numel, "tensor 'w' element count overflows 63 bits");

  GgufBytes empty_dim;
  empty_dim.header(1, 0).tensor_info("w", {32, 0}, kF32, 0);
  expect_corrupt(empty_dim, "tensor 'w' has invalid dimension 1 = 0");
}

// CVE-2024-21836: n_tensors * sizeof(tensor info) overflowed the allocation size.
TEST(GgufHostileTest, Cve2024_21836_TensorCountOverflow) {
  GgufBytes huge;
  huge.header(uint64_t{1} << 60, 0).zeros(64);
  expect_corrupt(huge, "tensor count 1152921504606846976 exceeds the limit of 1048576");

  GgufLimits no_limit;
  no_limit.max_tensor_count = UINT64_MAX;
  GgufBytes wraps;  // 2^59 * 32 bytes wraps 64 bits
  wraps.header(uint64_t{1} << 59, 0).zeros(64);
  expect_corrupt(wraps, "more than the file can hold", no_limit);

  GgufBytes more_than_file;
  more_than_file.header(1000, 0).zeros(100);
  expect_corrupt(more_than_file,
                 "header claims 0 metadata entries and 1000 tensors, more than the file can hold");
}

// CVE-2024-23605: n_kv * sizeof(kv) overflowed the allocation size.
TEST(GgufHostileTest, Cve2024_23605_MetadataCountOverflow) {
  GgufBytes huge;
  huge.header(0, UINT64_MAX).zeros(64);
  expect_corrupt(huge, "metadata count 18446744073709551615 exceeds the limit of 65536");

  GgufLimits no_limit;
  no_limit.max_kv_count = UINT64_MAX;
  expect_corrupt(huge, "more than the file can hold", no_limit);

  GgufBytes more_than_file;
  more_than_file.header(0, 50).kv_u32("a", 1);
  expect_corrupt(more_than_file, "header claims 50 metadata entries and 0 tensors");
}

// CVE-2025-49847: a vocabulary token longer than INT32_MAX bytes was cast to int32 while being
// copied, bypassing the length check. Here token strings are bounded long before that.
TEST(GgufHostileTest, Cve2025_49847_VocabTokenLengthOverflow) {
  GgufBytes b;
  b.header(0, 1).str("tokenizer.ggml.tokens").type(GgufType::kArray);
  b.type(GgufType::kString).u64(3).str("<s>").u64((uint64_t{1} << 31) + 1).raw("abcd").str("x");
  expect_corrupt(
      b,
      "metadata 'tokenizer.ggml.tokens'[1] length 2147483649 exceeds the limit of 67108864 bytes");

  GgufLimits no_limit;
  no_limit.max_string_bytes = UINT64_MAX;
  expect_corrupt(b, "metadata 'tokenizer.ggml.tokens'[1] needs 2147483649 bytes", no_limit);
}

// CVE-2025-53630: the data-section size, accumulated from (padded) tensor sizes, overflowed, so
// tensors were given pointers outside the allocation.
TEST(GgufHostileTest, Cve2025_53630_TensorDataSizeOverflow) {
  GgufBytes bytes_wrap;  // 2^62 f32 elements = 2^64 bytes
  bytes_wrap.header(1, 0).tensor_info("w", {uint64_t{1} << 31, uint64_t{1} << 31}, kF32, 0);
  expect_corrupt(bytes_wrap, "tensor 'w' byte size overflows 64 bits");

  GgufBytes offset_wrap;  // offset + size wraps to a small number
  offset_wrap.header(1, 0).tensor_info("w", {8}, kF32, UINT64_MAX - 31).pad_to(32).zeros(64);
  expect_corrupt(offset_wrap,
                 "tensor 'w' data [18446744073709551584, +32) lies outside the file's data section "
                 "(64 bytes)");

  GgufBytes huge_pair;  // each tensor is huge; their padded sum would wrap to something small
  huge_pair.header(2, 0)
      .tensor_info("a", {uint64_t{1} << 30, uint64_t{1} << 31}, kF32, 0)
      .tensor_info("b", {8}, kF32, uint64_t{1} << 63)
      .pad_to(32)
      .zeros(64);
  expect_corrupt(huge_pair, "tensor 'a' data [0, +9223372036854775808) lies outside");

  GgufBytes overlap;
  overlap.header(2, 0)
      .tensor_info("a", {16}, kF32, 0)
      .tensor_info("b", {16}, kF32, 32)
      .pad_to(32)
      .zeros(128);
  expect_corrupt(overlap, "tensors 'a' [0, +64) and 'b' [32, +64) overlap");
}

TEST(GgufHostileTest, UnknownTypesAreNamed) {
  GgufBytes tensor_type;  // a type id that would index past ggml's type table (or negative)
  tensor_type.header(1, 0).tensor_info("w", {32}, UINT32_MAX, 0).pad_to(32).zeros(128);
  expect_corrupt(tensor_type, "tensor 'w' has unknown ggml type id 4294967295");

  GgufBytes removed_type;  // 4 was Q4_2, removed from ggml
  removed_type.header(1, 0).tensor_info("w", {32}, 4, 0).pad_to(32).zeros(128);
  expect_corrupt(removed_type, "tensor 'w' has unknown ggml type id 4");

  GgufBytes value_type;
  value_type.header(0, 1).str("k").u32(13).u32(0);
  expect_corrupt(value_type, "metadata 'k' has unknown value type 13");

  GgufBytes elem_type;
  elem_type.header(0, 1).str("k").type(GgufType::kArray).u32(99).u64(0);
  expect_corrupt(elem_type, "metadata 'k' element type has unknown value type 99");

  GgufBytes bad_bool;
  bad_bool.header(0, 1).str("k").type(GgufType::kBool).u8(2);
  expect_corrupt(bad_bool, "metadata 'k' is a bool with invalid byte 2");
}

TEST(GgufHostileTest, BlockSizeAndAlignment) {
  GgufBytes partial_block;
  partial_block.header(1, 0).tensor_info("w", {33}, kQ4_0, 0).pad_to(32).zeros(64);
  expect_corrupt(partial_block,
                 "tensor 'w' row length 33 is not a multiple of the Q4_0 block size 32");

  GgufBytes misaligned;
  misaligned.header(1, 0).tensor_info("w", {4}, kF32, 16).pad_to(32).zeros(64);
  expect_corrupt(misaligned, "tensor 'w' data offset 16 is not a multiple of the alignment 32");

  for (uint32_t bad : {0u, 3u, 48u}) {
    GgufBytes b;
    b.header(0, 1).kv_u32("general.alignment", bad);
    expect_corrupt(b,
                   "general.alignment must be a uint32 power of two, got " + std::to_string(bad));
  }
  GgufBytes wrong_type;
  wrong_type.header(0, 1).str("general.alignment").type(GgufType::kInt32).u32(32);
  expect_corrupt(wrong_type, "general.alignment must be a uint32 power of two");

  GgufBytes huge_alignment;  // 2^31: the data section would start past the end of the file
  huge_alignment.header(1, 1)
      .kv_u32("general.alignment", 0x80000000u)
      .tensor_info("w", {4}, kF32, 0);
  expect_corrupt(huge_alignment, "file is truncated before the tensor data section");
}

TEST(GgufHostileTest, DuplicatesAndEmptyNames) {
  GgufBytes dup_key;
  dup_key.header(0, 2).kv_u32("a.b", 1).kv_u32("a.b", 2);
  expect_corrupt(dup_key, "duplicate metadata key 'a.b'");

  GgufBytes dup_tensor;
  dup_tensor.header(2, 0)
      .tensor_info("w", {8}, kF32, 0)
      .tensor_info("w", {8}, kF32, 32)
      .pad_to(32)
      .zeros(64);
  expect_corrupt(dup_tensor, "duplicate tensor name 'w'");

  GgufBytes empty_name;
  empty_name.header(1, 0).tensor_info("", {8}, kF32, 0).pad_to(32).zeros(32);
  expect_corrupt(empty_name, "tensor info #0 has an empty name");
}

TEST(GgufHostileTest, HeaderErrors) {
  GgufBytes not_gguf;
  not_gguf.raw("GGML").u32(3).u64(0).u64(0);
  expect_corrupt(not_gguf, "not a GGUF file");

  GgufBytes v1;
  v1.header(0, 0, 1);
  expect_error(v1, StatusCode::kUnsupported, "GGUF version 1 is not supported");

  GgufBytes big_endian;
  big_endian.header(0, 0, 0x03000000);
  expect_error(big_endian, StatusCode::kUnsupported, "big-endian");

  GgufBytes v99;
  v99.header(0, 0, 99);
  expect_error(v99, StatusCode::kUnsupported, "unknown GGUF version 99");

  GgufBytes tiny;
  tiny.raw("GG");
  expect_corrupt(tiny, "file is truncated: magic needs 4 bytes at offset 0 but only 2 remain");
}

// Every proper prefix of a valid file is rejected with a truncation error, and the whole file
// parses: no offset in the format is trusted without a bounds check.
// The valid counterparts of the hostile files: a version 2 file (the same little-endian layout
// as v3) whose metadata holds nested arrays of every element kind, and a tensor whose data is
// read back as written.
TEST(GgufHostileTest, Version2FileWithNestedArraysParses) {
  GgufBytes b;
  b.header(/*n_tensors=*/1, /*n_kv=*/3, /*version=*/2);
  b.kv_string("general.architecture", "llama");
  // [[1, 2, 3], [4]]: an array of two arrays of u32
  b.str("test.nested_ints").type(GgufType::kArray).type(GgufType::kArray).u64(2);
  b.type(GgufType::kUint32).u64(3).u32(1).u32(2).u32(3);
  b.type(GgufType::kUint32).u64(1).u32(4);
  // [["a", "bc"], []]: strings, and an empty inner array
  b.str("test.nested_strings").type(GgufType::kArray).type(GgufType::kArray).u64(2);
  b.type(GgufType::kString).u64(2).str("a").str("bc");
  b.type(GgufType::kString).u64(0);
  b.tensor_info("w", {4}, kF32, 0);
  b.pad_to(32);
  for (float v : {1.5f, -2.0f, 0.25f, 8.0f}) b.pod(v);

  auto f = GgufFile::parse(b.span());
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->version(), 2u);
  auto ints = f->get_array("test.nested_ints");
  ASSERT_TRUE(ints.ok()) << ints.status().to_string();
  ASSERT_EQ((*ints)->elem_type, GgufType::kArray);
  ASSERT_EQ((*ints)->arrays.size(), 2u);
  EXPECT_EQ((*ints)->arrays[0].ints, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ((*ints)->arrays[1].ints, (std::vector<int64_t>{4}));
  auto strings = f->get_array("test.nested_strings");
  ASSERT_TRUE(strings.ok()) << strings.status().to_string();
  ASSERT_EQ((*strings)->arrays.size(), 2u);
  EXPECT_EQ((*strings)->arrays[0].strings, (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ((*strings)->arrays[1].size(), 0u);
  const GgufTensorInfo* w = f->find_tensor("w");
  ASSERT_NE(w, nullptr);
  const TensorView view = f->tensor_view(*w);
  const auto* data = static_cast<const float*>(view.data());
  EXPECT_EQ(data[0], 1.5f);
  EXPECT_EQ(data[3], 8.0f);
}

TEST(GgufHostileTest, EveryTruncationIsAnError) {
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_uint32("llama.context_length", 2048);
  w.set_string_array("tokenizer.ggml.tokens", {"<s>", "</s>", "hello"});
  w.set_float32_array("tokenizer.ggml.scores", {0.0f, -1.0f, -2.5f});
  w.set_bool("tokenizer.ggml.add_bos_token", true);
  std::vector<uint8_t> q4(18 * 2, 0x11), f32(4 * 8, 0);
  ASSERT_TRUE(w.add_tensor("a", DType::kQ4_0, Shape{1, 64}, q4).ok());
  ASSERT_TRUE(w.add_tensor("b", DType::kF32, Shape{2, 4}, f32).ok());
  const std::vector<uint8_t> full = w.serialize();
  ASSERT_TRUE(GgufFile::parse({full.data(), full.size()}).ok());
  // The last tensor's padding is not needed, so only cut into the data it needs.
  const size_t needed = full.size() - (32 - f32.size() % 32) % 32;
  for (size_t n = 0; n < needed; ++n) {
    auto f = GgufFile::parse({full.data(), n});
    ASSERT_FALSE(f.ok()) << "prefix of " << n << " bytes was accepted";
    EXPECT_EQ(f.status().code(), StatusCode::kCorruptData) << f.status().to_string();
    const std::string& m = f.status().message();
    EXPECT_TRUE(m.find("truncated") != std::string::npos ||
                m.find("more than the file can hold") != std::string::npos ||
                m.find("bytes remain") != std::string::npos)
        << n << ": " << m;
  }
}

TEST(GgufHostileTest, OpenNamesThePath) {
  auto missing = GgufFile::open("/nonexistent/model.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/model.gguf"), std::string::npos);
}

}  // namespace
}  // namespace hearth
