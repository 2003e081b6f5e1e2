// A parsed GGUF file: metadata, tensor infos and zero-copy views of tensor data in the mmap.
// Everything read from the file is validated before use; a hostile file yields an error naming
// the offending field, never an out-of-bounds read.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"
#include "formats/gguf/gguf_types.h"
#include "formats/weight_store.h"
#include "hearth/status.h"

namespace hearth {

// Bounds a reader enforces beyond "fits in the file"; defaults are generous for real models.
struct GgufLimits {
  uint64_t max_string_bytes = 64ull << 20;  // one metadata string (chat templates are ~20 KB)
  uint64_t max_array_elems = 64ull << 20;   // one array (vocabularies are ~256k)
  uint32_t max_array_depth = 4;             // nesting of arrays in arrays
  uint64_t max_kv_count = 1u << 16;
  uint64_t max_tensor_count = 1u << 20;
  uint64_t max_name_bytes = 4096;  // tensor names and keys
};

struct GgufTensorInfo {
  std::string name;
  uint32_t ggml_type = 0;
  DType dtype = DType::kF32;
  std::vector<uint64_t> ne;  // ggml order: ne[0] is the innermost (contiguous) dimension
  Shape shape;               // numpy order: shape[rank-1] == ne[0]
  uint64_t offset = 0;       // relative to the data section
  uint64_t nbytes = 0;
};

class GgufFile {
 public:
  static Expected<GgufFile> open(const std::string& path, const GgufLimits& limits = {});
  // Parse bytes already in memory (tests, fuzzing). `bytes` must outlive the file object.
  static Expected<GgufFile> parse(std::span<const uint8_t> bytes, const GgufLimits& limits = {});

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  const std::string& path() const { return path_; }

  // Metadata in file order.
  const std::vector<GgufKeyValue>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;

  // Typed getters: NotFound when absent, InvalidArgument naming the key and types on mismatch.
  Expected<std::string> get_string(std::string_view key) const;
  Expected<uint64_t> get_uint(std::string_view key) const;
  Expected<double> get_float(std::string_view key) const;
  Expected<bool> get_bool(std::string_view key) const;
  Expected<const GgufArray*> get_array(std::string_view key) const;
  // `general.architecture`, or an error saying the file has none.
  Expected<std::string> architecture() const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // Zero-copy view into the mapped data (read-only memory).
  TensorView tensor_view(const GgufTensorInfo& info) const;
  // Every tensor as a zero-copy view; the store keeps the mapping alive.
  Expected<WeightStore> to_weight_store() const;

 private:
  std::shared_ptr<MappedFile> file_;  // null when parsed from caller-owned bytes
  std::span<const uint8_t> bytes_;
  std::string path_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<GgufKeyValue> kv_;
  std::map<std::string, size_t, std::less<>> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;

  friend class GgufParser;
};

}  // namespace hearth
