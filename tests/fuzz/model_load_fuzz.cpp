// Fuzzes model loading from GGUF bytes (metadata validation, weight lookup and shape checks) and,
// when a model loads, runs a short forward pass over a small KV cache: no input may crash, hang
// or read out of bounds. Seeds: the tiny llama and qwen2 models of tests/fixtures/models/tiny.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/gguf/gguf_file.h"
#include "models/load_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hearth::GgufLimits limits;
  limits.max_array_elems = 1 << 16;
  limits.max_string_bytes = 1 << 16;
  auto file = hearth::GgufFile::parse({data, size}, limits);
  if (!file.ok()) return 0;
  hearth::LoadOptions options;
  options.n_threads = 1;
  options.backend = "reference";
  options.max_batch_tokens = 4;
  auto model = hearth::load_gguf_model(*file, "fuzz input", options);
  if (!model.ok()) return 0;
  const hearth::ModelInfo& info = (*model)->info();
  auto cache = (*model)->new_kv_cache(std::min<int64_t>(info.context_length, 6));
  if (!cache.ok()) return 0;
  const std::vector<int32_t> tokens{0, static_cast<int32_t>(info.vocab_size - 1), 1, 0, 2};
  std::vector<float> logits(tokens.size() * static_cast<size_t>(info.vocab_size));
  (void)(*model)->forward(**cache, tokens, hearth::LogitsFor::kAllTokens, logits);
  return 0;
}
