// Builds GGUF byte streams field by field, so tests can write exactly the hostile values a
// well-behaved writer never would (huge counts, wrapping sizes, bad types).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "formats/gguf/gguf_types.h"

namespace hearth::test {

class GgufBytes {
 public:
  template <typename T>
  GgufBytes& pod(T v) {
    const size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &v, sizeof(T));
    return *this;
  }
  GgufBytes& u8(uint8_t v) { return pod(v); }
  GgufBytes& u32(uint32_t v) { return pod(v); }
  GgufBytes& u64(uint64_t v) { return pod(v); }
  GgufBytes& type(GgufType t) { return u32(static_cast<uint32_t>(t)); }
  // A GGUF string: u64 length, then the bytes.
  GgufBytes& str(std::string_view s) {
    u64(s.size());
    return raw(s);
  }
  GgufBytes& raw(std::string_view s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  GgufBytes& zeros(size_t n) {
    bytes_.resize(bytes_.size() + n, 0);
    return *this;
  }
  GgufBytes& pad_to(size_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_.push_back(0);
    return *this;
  }

  GgufBytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return u32(kGgufMagic).u32(version).u64(n_tensors).u64(n_kv);
  }
  GgufBytes& kv_u32(std::string_view key, uint32_t v) {
    return str(key).type(GgufType::kUint32).u32(v);
  }
  GgufBytes& kv_string(std::string_view key, std::string_view v) {
    return str(key).type(GgufType::kString).str(v);
  }
  // ne in ggml order (innermost first).
  GgufBytes& tensor_info(std::string_view name, const std::vector<uint64_t>& ne, uint32_t ggml_type,
                         uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    return u32(ggml_type).u64(offset);
  }

  size_t size() const { return bytes_.size(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  std::span<const uint8_t> span() const { return {bytes_.data(), bytes_.size()}; }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace hearth::test
