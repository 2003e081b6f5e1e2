// What `hearth models inspect` reports about a model file or directory, format-independent.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "hearth/status.h"

namespace hearth {

struct TensorSummary {
  std::string name;
  std::string type;  // "Q4_1", "F32", "BF16" ...
  Shape shape;
  uint64_t bytes = 0;
};

struct DTypeUsage {
  uint64_t tensors = 0;
  uint64_t elements = 0;
  uint64_t bytes = 0;
};

struct ModelSummary {
  std::string path;
  std::string format;        // "GGUF v3", "Hugging Face directory, safetensors (2 shards)"
  std::string name;          // general.name or the directory name
  std::string architecture;  // "llama", "gemma3", ...; "llama (LlamaForCausalLM)" from config.json
  std::string quantization;  // "Q4_1" (general.file_type or the dominant weight type),
                             // "MLX 4-bit, group size 64" (config.json "quantization")
  uint64_t parameters = 0;   // logical: packed MLX weights count unpacked, scales/biases not
  uint64_t weight_bytes = 0;
  std::map<std::string, DTypeUsage> by_type;
  int64_t context_length = 0;
  int64_t layers = 0;
  int64_t embedding = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab = 0;
  std::string tokenizer;  // "gpt2 (byte-level BPE)", "llama (SentencePiece)"
  bool has_chat_template = false;
  uint64_t kv_cache_bytes_full_context = 0;  // f16 K and V for every layer at context_length
  std::vector<TensorSummary> tensors;
};

// Reads headers only (no weights are paged in). `path` is a .gguf file, a .safetensors file, or a
// Hugging Face model directory (config.json + model.safetensors or a sharded index); the format
// is recognised from the content, not the extension.
Expected<ModelSummary> summarize_model(const std::string& path);

// Human-readable report; `all_tensors` lists every tensor instead of a short sample.
std::string format_model_summary(const ModelSummary& s, bool all_tensors);

}  // namespace hearth
