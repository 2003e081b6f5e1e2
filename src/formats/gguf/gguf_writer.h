// Writes GGUF v3 files: used by tests (fixtures, malformed variants) and by conversion tools.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/gguf/gguf_types.h"
#include "hearth/status.h"

namespace hearth {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = kGgufDefaultAlignment) : alignment_(alignment) {}

  void set(std::string key, GgufValue value);
  void set_string(std::string key, std::string value);
  void set_uint32(std::string key, uint32_t value);
  void set_int32(std::string key, int32_t value);
  void set_uint64(std::string key, uint64_t value);
  void set_float32(std::string key, float value);
  void set_bool(std::string key, bool value);
  void set_string_array(std::string key, std::vector<std::string> values);
  void set_float32_array(std::string key, std::vector<float> values);
  void set_int32_array(std::string key, std::vector<int32_t> values);

  // `shape` is numpy order; `data` must hold exactly the tensor's bytes (copied).
  Status add_tensor(std::string name, DType dtype, const Shape& shape,
                    std::span<const uint8_t> data);

  std::vector<uint8_t> serialize() const;
  Status write(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    uint32_t ggml_type;
    std::vector<uint64_t> ne;
    std::vector<uint8_t> data;
  };
  uint32_t alignment_;
  std::vector<GgufKeyValue> kv_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace hearth
