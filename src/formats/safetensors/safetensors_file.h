// A parsed safetensors file: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and [begin, end) byte range in the data section that follows, and the
// data. Tensors are zero-copy views into the mmap. Everything in the header is validated before
// use; a hostile file yields an error naming the offending tensor or field.
// Spec: https://github.com/huggingface/safetensors (README, "Format").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"
#include "core/tensor.h"
#include "formats/weight_store.h"
#include "hearth/status.h"

namespace hearth {

struct SafetensorsLimits {
  uint64_t max_header_bytes = 100ull << 20;  // the reference implementation's limit
};

// "F32", "BF16", ... <-> DType, for the dtypes hearth reads: F64 F32 F16 BF16 I64 I32 I16 I8 U64
// U32 U16 U8 BOOL F8_E4M3 F8_E5M2.
std::optional<DType> dtype_from_safetensors_name(std::string_view name);
std::optional<std::string_view> safetensors_name_of(DType t);

struct SafetensorsTensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> dims;  // numpy order (outermost first); empty for a scalar
  uint64_t begin = 0;         // byte range in the data section: data_offsets [begin, end)
  uint64_t end = 0;

  uint64_t nbytes() const { return end - begin; }
  uint64_t numel() const;
  std::string shape_string() const;  // "[2, 3]"
};

class SafetensorsFile {
 public:
  static Expected<SafetensorsFile> open(const std::string& path,
                                        const SafetensorsLimits& limits = {});
  // Parse bytes already in memory (tests, fuzzing). `bytes` must outlive the file object.
  static Expected<SafetensorsFile> parse(std::span<const uint8_t> bytes,
                                         const SafetensorsLimits& limits = {});

  const std::string& path() const { return path_; }
  uint64_t header_bytes() const { return header_bytes_; }
  uint64_t data_offset() const { return 8 + header_bytes_; }
  uint64_t data_bytes() const { return bytes_.size() - data_offset(); }

  // `__metadata__`: free-form string annotations ("format": "pt" / "mlx").
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // In data-section order.
  const std::vector<SafetensorsTensorInfo>& tensors() const { return tensors_; }
  const SafetensorsTensorInfo* find_tensor(std::string_view name) const;

  std::span<const uint8_t> tensor_bytes(const SafetensorsTensorInfo& info) const;
  // Zero-copy view into the mapped data; Unsupported for rank > 4 (TensorView's limit).
  Expected<TensorView> tensor_view(const SafetensorsTensorInfo& info) const;
  // Every tensor as a zero-copy view; the store keeps the mapping alive.
  Expected<WeightStore> to_weight_store() const;
  // Adds this file's tensors to `store`; names must be new to the store.
  Status add_to(WeightStore& store) const;
  // What a WeightStore holding views of this file must keep alive (null for parse()).
  std::shared_ptr<const void> mapping() const { return file_; }

 private:
  std::shared_ptr<MappedFile> file_;  // null when parsed from caller-owned bytes
  std::span<const uint8_t> bytes_;
  std::string path_;
  uint64_t header_bytes_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<SafetensorsTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;

  friend class SafetensorsParser;
};

}  // namespace hearth
