// Fuzzes the safetensors header parser, and (on the same bytes) the sharded-index and
// config.json parsers; on success touches every tensor's first and last byte so an
// out-of-bounds view is caught by ASan.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "formats/hf/hf_config.h"
#include "formats/safetensors/safetensors_file.h"
#include "formats/safetensors/safetensors_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hearth::SafetensorsLimits limits;
  limits.max_header_bytes = 1 << 20;
  auto file = hearth::SafetensorsFile::parse({data, size}, limits);
  volatile uint8_t sink = 0;
  if (file.ok()) {
    for (const auto& ti : file->tensors()) {
      const auto bytes = file->tensor_bytes(ti);
      if (!bytes.empty()) sink = static_cast<uint8_t>(sink ^ bytes.front() ^ bytes.back());
      (void)file->tensor_view(ti);
    }
    (void)file->to_weight_store();
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)hearth::parse_safetensors_index(text, "fuzz index");
  (void)hearth::parse_hf_config(text, "fuzz config");
  (void)sink;
  return 0;
}
