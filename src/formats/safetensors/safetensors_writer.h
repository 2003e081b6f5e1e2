// Writes safetensors files the reference implementation reads back: tensors laid out contiguously
// (largest element size first, so every tensor stays naturally aligned), the JSON header padded
// with spaces to a multiple of 8 bytes. Used by tests and by conversion tools.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "hearth/status.h"

namespace hearth {

class SafetensorsWriter {
 public:
  void set_metadata(std::string key, std::string value);
  // `dims` in numpy order (any rank, empty for a scalar); `data` must hold exactly numel * element
  // size bytes (copied). InvalidArgument for duplicates, sizes that disagree, or names that are
  // empty or "__metadata__"; Unsupported for dtypes safetensors cannot hold.
  Status add_tensor(std::string name, DType dtype, std::vector<int64_t> dims,
                    std::span<const uint8_t> data);

  std::vector<uint8_t> serialize() const;
  Status write(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> dims;
    std::vector<uint8_t> data;
  };
  std::map<std::string, std::string> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace hearth
