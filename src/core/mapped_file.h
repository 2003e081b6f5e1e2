// A read-only memory map of a whole file: model weights are used in place, never copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "hearth/status.h"

namespace hearth {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Errors name the path and the OS reason. An empty file maps to an empty span.
  static Expected<MappedFile> open(const std::string& path);

  const uint8_t* data() const { return static_cast<const uint8_t*>(addr_); }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data(), size_}; }
  const std::string& path() const { return path_; }

  // Ask the kernel to read ahead (models are read sequentially on first use).
  void advise_willneed() const;

 private:
  void reset();
  void* addr_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace hearth
