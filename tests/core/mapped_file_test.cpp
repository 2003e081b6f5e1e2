#include "core/mapped_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/aligned_buffer.h"
#include "support/test_support.h"

namespace hearth {
namespace {

TEST(MappedFileTest, MapsContents) {
  const std::string path = test::temp_path("mapped.bin");
  std::ofstream(path, std::ios::binary) << "hello";
  auto f = MappedFile::open(path);
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  ASSERT_EQ(f->size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data()), 5), "hello");
  MappedFile moved = std::move(f).value();
  EXPECT_EQ(moved.size(), 5u);
}

TEST(MappedFileTest, MissingFileSaysNotFoundWithPath) {
  auto f = MappedFile::open("/nonexistent/model.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("/nonexistent/model.gguf"), std::string::npos);
}

TEST(MappedFileTest, DirectoryIsRejected) {
  auto f = MappedFile::open("/tmp");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
}

TEST(AlignedBufferTest, AlignedAndZeroed) {
  auto b = AlignedBuffer::allocate(1000);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b->data()) % AlignedBuffer::kAlignment, 0u);
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(b->as<uint8_t>()[i], 0);
}

}  // namespace
}  // namespace hearth
