// Fuzzes the GGUF parser with arbitrary bytes; on success touches every tensor's first and last
// byte so an out-of-bounds view is caught by ASan.
#include <cstddef>
#include <cstdint>

#include "formats/gguf/gguf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hearth::GgufLimits limits;
  limits.max_array_elems = 1 << 16;
  limits.max_string_bytes = 1 << 16;
  auto file = hearth::GgufFile::parse({data, size}, limits);
  if (!file.ok()) return 0;
  volatile uint8_t sink = 0;
  for (const auto& ti : file->tensors()) {
    const auto view = file->tensor_view(ti);
    const auto* p = static_cast<const uint8_t*>(view.data());
    if (ti.nbytes > 0) sink = static_cast<uint8_t>(sink ^ p[0] ^ p[ti.nbytes - 1]);
  }
  for (const auto& kv : file->metadata()) (void)kv.value.summary();
  (void)sink;
  return 0;
}
