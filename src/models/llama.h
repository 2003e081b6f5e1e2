// The llama family: llama, mistral, qwen2 and smollm share one forward pass (RMSNorm, rotary
// GQA attention, SwiGLU MLP, tied or separate output head); what differs is described by a
// LlamaVariant in the registry, so nothing here switches on an architecture name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "models/layers/rope.h"
#include "models/model_source.h"

namespace hearth {

struct LlamaVariant {
  // Pairing of rotated elements for GGUF files. llama.cpp's converter permutes llama's q/k
  // weight rows so adjacent pairs apply; it leaves qwen2's alone (NeoX). HF weights always
  // need NeoX.
  RopeLayout gguf_rope_layout = RopeLayout::kAdjacentPairs;
  // q/k/v projections carry biases that must be present (qwen2). Otherwise biases are used
  // when the file has all three.
  bool requires_qkv_bias = false;
};

struct LlamaConfig {
  int64_t n_layers = 0;
  int64_t d_model = 0;
  int64_t d_ff = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t context_length = 0;
  float rms_eps = 1e-5f;
  RopeConfig rope;
  bool tie_embeddings = false;  // the output head reuses the token embedding table
};

// Reads `<architecture>.*` hyperparameters (and the optional rope_freqs tensor) of a GGUF file.
Expected<LlamaConfig> llama_config_from_gguf(const GgufFile& file, const std::string& architecture,
                                             const WeightStore& weights,
                                             const LlamaVariant& variant);

// Reads a Hugging Face config.json (NeoX rope; rope_scaling none, linear or llama3).
Expected<LlamaConfig> llama_config_from_hf(const HfModelConfig& hf);

Expected<std::unique_ptr<Model>> load_llama_family(ModelSource source,
                                                   std::unique_ptr<Backend> backend,
                                                   const LoadOptions& options,
                                                   const LlamaVariant& variant);

}  // namespace hearth
