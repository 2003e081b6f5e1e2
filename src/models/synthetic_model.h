// Models with random weights of real shapes, for speed work at full scale without a download
// (`hearth bench --synthetic llama3-8b --quant q4_0`). The weights are random bytes with sane
// scales (never zeros): quant blocks get random quants and fp16 scales that give weights of
// about 0.02 standard deviation, like a trained model's; norm weights are near 1. Speed does not
// depend on the values, only on shapes and storage types.
//
// The same tensors can be written to a .gguf file (llama architecture, a "none" tokenizer with
// the vocabulary size) so llama.cpp's llama-bench runs the identical model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/dtype.h"
#include "hearth/status.h"
#include "models/model.h"

namespace hearth {

// The hyperparameters of a real model (from its public config.json).
struct SyntheticShape {
  std::string name;  // "llama3-8b"
  int64_t n_layers = 0;
  int64_t d_model = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t d_ff = 0;
  int64_t vocab = 0;
  int64_t context_length = 0;
  double rope_theta = 10000.0;
  float rms_eps = 1e-5f;
  bool tie_embeddings = false;
};

// llama3-8b (Llama-3.1-8B), qwen3-8b (Qwen3-8B's shapes as a llama-architecture model: its
// per-head QK-norm, 2 x head_dim floats a layer, is left out), smollm2-135m (the default
// model's shapes). NotFound listing the known names otherwise.
Expected<SyntheticShape> synthetic_shape(std::string_view name);
std::string synthetic_shape_names();

// The storage type of every weight matrix (embedding and output head too): q4_0, q4_1, q8_0,
// f16, bf16 or f32. InvalidArgument naming the accepted types otherwise.
Expected<DType> synthetic_weight_type(std::string_view name);

// Builds the model in memory and loads it on the backend `options` names, as load_model would.
Expected<std::unique_ptr<Model>> load_synthetic_model(const SyntheticShape& shape, DType weights,
                                                      uint64_t seed, const LoadOptions& options);

// Writes the same model (same seed: the same bytes) to `path` as GGUF.
Status write_synthetic_gguf(const SyntheticShape& shape, DType weights, uint64_t seed,
                            const std::string& path);

// Bytes of weights one decode step reads (all matrices except an untied embedding table).
uint64_t synthetic_weight_bytes_per_token(const SyntheticShape& shape, DType weights);

}  // namespace hearth
