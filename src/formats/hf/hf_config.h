// A Hugging Face config.json as a typed struct: the fields every decoder-only architecture needs,
// with the raw JSON kept for architecture-specific keys. Multimodal configs that nest the
// language model under "text_config" (Gemma 3, Qwen-VL, ...) are read from there.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth {

struct HfRopeScaling {
  std::string rope_type;  // "linear", "dynamic", "yarn", "llama3", ... ("type" in older files)
  std::optional<double> factor;
  std::optional<double> low_freq_factor;   // llama3
  std::optional<double> high_freq_factor;  // llama3
  std::optional<int64_t> original_max_position_embeddings;
};

// MLX quantized checkpoints: weights packed into u32 with per-group scales and biases.
struct HfQuantization {
  int64_t group_size = 0;
  int64_t bits = 0;
};

struct HfModelConfig {
  std::vector<std::string> architectures;  // "LlamaForCausalLM", ...
  std::string model_type;                  // "llama", "qwen3", "gemma3_text", ...
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // defaults to num_attention_heads
  int64_t head_dim = 0;             // defaults to hidden_size / num_attention_heads
  std::optional<int64_t> intermediate_size;
  int64_t vocab_size = 0;
  std::optional<int64_t> max_position_embeddings;
  std::optional<double> rms_norm_eps;
  std::optional<double> rope_theta;
  std::optional<HfRopeScaling> rope_scaling;
  std::optional<bool> tie_word_embeddings;
  std::vector<int64_t> bos_token_ids;  // config accepts an int or a list
  std::vector<int64_t> eos_token_ids;
  std::string torch_dtype;  // "bfloat16", ... ("dtype" in newer files); empty when absent
  std::optional<int64_t> sliding_window;
  std::optional<HfQuantization> quantization;
  nlohmann::json raw;  // the whole file, for architecture-specific keys
};

// Parses config.json text; `what` names the source in errors. Missing required fields
// (model_type, hidden_size, num_hidden_layers, num_attention_heads, vocab_size) and wrong types
// give CorruptData naming the field.
Expected<HfModelConfig> parse_hf_config(std::string_view json_text, std::string_view what);
Expected<HfModelConfig> load_hf_config(const std::string& path);

}  // namespace hearth
