// Per-format summarizers behind summarize_model() (model_summary.cpp dispatches on the path).
#pragma once

#include <string>

#include "formats/model_summary.h"

namespace hearth::summary_detail {

Expected<ModelSummary> summarize_gguf(const std::string& path);
// A Hugging Face directory (config.json + model.safetensors or a sharded index).
Expected<ModelSummary> summarize_hf_dir(const std::string& dir);
// One .safetensors file; config facts come from a config.json next to it when there is one.
Expected<ModelSummary> summarize_safetensors_file(const std::string& path);

// Records one tensor in s.tensors, s.by_type and the totals. `elements` is its logical element
// count (more than the stored count for packed MLX weights).
void add_tensor(ModelSummary& s, TensorSummary t, uint64_t elements);
// Bytes of an f16 K and V cache for every layer at the full context.
uint64_t kv_cache_bytes(int64_t layers, int64_t context, int64_t kv_heads, int64_t k_dim,
                        int64_t v_dim);

}  // namespace hearth::summary_detail
