#include "models/llama.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "models/gguf_metadata.h"
#include "models/layers/attention.h"
#include "models/layers/mlp.h"
#include "models/layers/output_head.h"
#include "models/layers/rms_norm.h"
#include "models/layers/token_embedding.h"
#include "runtime/kv/contiguous_kv_cache.h"

namespace hearth {
namespace {

// Generous upper bounds on hyperparameters; the weights' shapes are checked against them too.
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxWidth = int64_t{1} << 20;
constexpr int64_t kMaxHeads = int64_t{1} << 14;
constexpr int64_t kMaxContext = std::numeric_limits<int32_t>::max();
// Rows of logits computed per output-head call when every position's logits are wanted.
constexpr int64_t kLogitRowsPerStep = 16;

// ---- The weight list ---------------------------------------------------------------------------

enum class LlamaTensor {
  kEmbedding,
  kOutputNorm,
  kOutput,
  kRopeFreqs,
  kAttnNorm,
  kQ,
  kK,
  kV,
  kO,
  kQBias,
  kKBias,
  kVBias,
  kFfnNorm,
  kGate,
  kUp,
  kDown,
};

struct TensorNames {
  const char* gguf;  // '#' stands for the layer index
  const char* hf;
};

TensorNames names_of(LlamaTensor t) {
  switch (t) {
    case LlamaTensor::kEmbedding:
      return {"token_embd.weight", "model.embed_tokens.weight"};
    case LlamaTensor::kOutputNorm:
      return {"output_norm.weight", "model.norm.weight"};
    case LlamaTensor::kOutput:
      return {"output.weight", "lm_head.weight"};
    case LlamaTensor::kRopeFreqs:
      return {"rope_freqs.weight", ""};
    case LlamaTensor::kAttnNorm:
      return {"blk.#.attn_norm.weight", "model.layers.#.input_layernorm.weight"};
    case LlamaTensor::kQ:
      return {"blk.#.attn_q.weight", "model.layers.#.self_attn.q_proj.weight"};
    case LlamaTensor::kK:
      return {"blk.#.attn_k.weight", "model.layers.#.self_attn.k_proj.weight"};
    case LlamaTensor::kV:
      return {"blk.#.attn_v.weight", "model.layers.#.self_attn.v_proj.weight"};
    case LlamaTensor::kO:
      return {"blk.#.attn_output.weight", "model.layers.#.self_attn.o_proj.weight"};
    case LlamaTensor::kQBias:
      return {"blk.#.attn_q.bias", "model.layers.#.self_attn.q_proj.bias"};
    case LlamaTensor::kKBias:
      return {"blk.#.attn_k.bias", "model.layers.#.self_attn.k_proj.bias"};
    case LlamaTensor::kVBias:
      return {"blk.#.attn_v.bias", "model.layers.#.self_attn.v_proj.bias"};
    case LlamaTensor::kFfnNorm:
      return {"blk.#.ffn_norm.weight", "model.layers.#.post_attention_layernorm.weight"};
    case LlamaTensor::kGate:
      return {"blk.#.ffn_gate.weight", "model.layers.#.mlp.gate_proj.weight"};
    case LlamaTensor::kUp:
      return {"blk.#.ffn_up.weight", "model.layers.#.mlp.up_proj.weight"};
    case LlamaTensor::kDown:
      return {"blk.#.ffn_down.weight", "model.layers.#.mlp.down_proj.weight"};
  }
  return {"", ""};
}

std::string tensor_name(WeightFormat format, LlamaTensor t, int64_t layer = -1) {
  std::string name = format == WeightFormat::kGguf ? names_of(t).gguf : names_of(t).hf;
  const size_t hash = name.find('#');
  if (hash != std::string::npos) name.replace(hash, 1, std::to_string(layer));
  return name;
}

// ---- Config ------------------------------------------------------------------------------------

Expected<RopeScaling> rope_scaling_from_gguf(const ArchMetadata& meta) {
  RopeScaling scaling;
  HEARTH_ASSIGN_OR_RETURN(const std::string type, meta.string_or("rope.scaling.type", "none"));
  if (type == "linear") {
    scaling.type = RopeScaling::Type::kLinear;
    HEARTH_ASSIGN_OR_RETURN(scaling.factor, meta.positive_or("rope.scaling.factor", 1.0));
  } else if (type != "none") {
    return unsupported("rope scaling '" + type + "' (metadata '" + meta.key("rope.scaling.type") +
                       "') is not supported; supported: none, linear, and Llama 3 rope_freqs");
  }
  // Older converters wrote a linear factor under its own key.
  if (meta.has("rope.scale_linear") && scaling.type == RopeScaling::Type::kNone) {
    HEARTH_ASSIGN_OR_RETURN(scaling.factor, meta.positive_or("rope.scale_linear", 1.0));
    if (scaling.factor != 1.0) scaling.type = RopeScaling::Type::kLinear;
  }
  return scaling;
}

Expected<std::vector<float>> rope_freq_factors(const WeightStore& weights, int64_t rotary_dim) {
  const std::string name = tensor_name(WeightFormat::kGguf, LlamaTensor::kRopeFreqs);
  const TensorView* view = weights.find(name);
  if (view == nullptr) return std::vector<float>{};
  if (view->dtype() != DType::kF32 || !(view->shape() == Shape{rotary_dim / 2})) {
    return invalid_argument("tensor '" + name + "' is " + std::string(dtype_name(view->dtype())) +
                            " " + view->shape().to_string() + ", expected f32 [" +
                            std::to_string(rotary_dim / 2) + "]");
  }
  std::vector<float> factors(static_cast<size_t>(rotary_dim / 2));
  std::memcpy(factors.data(), view->data(), factors.size() * sizeof(float));
  return factors;
}

}  // namespace

Expected<LlamaConfig> llama_config_from_gguf(const GgufFile& file, const std::string& architecture,
                                             const WeightStore& weights,
                                             const LlamaVariant& variant) {
  const ArchMetadata meta(file, architecture);
  LlamaConfig c;
  HEARTH_ASSIGN_OR_RETURN(c.n_layers, meta.count("block_count", kMaxLayers));
  HEARTH_ASSIGN_OR_RETURN(c.d_model, meta.count("embedding_length", kMaxWidth));
  HEARTH_ASSIGN_OR_RETURN(c.d_ff, meta.count("feed_forward_length", kMaxWidth));
  HEARTH_ASSIGN_OR_RETURN(c.n_heads, meta.count("attention.head_count", kMaxHeads));
  HEARTH_ASSIGN_OR_RETURN(c.n_kv_heads,
                          meta.count_or("attention.head_count_kv", c.n_heads, c.n_heads));
  if (c.n_heads % c.n_kv_heads != 0) {
    return invalid_argument("metadata '" + meta.key("attention.head_count") + "' (" +
                            std::to_string(c.n_heads) + ") is not a multiple of '" +
                            meta.key("attention.head_count_kv") + "' (" +
                            std::to_string(c.n_kv_heads) + ")");
  }
  if (!meta.has("attention.key_length") && c.d_model % c.n_heads != 0) {
    return invalid_argument("metadata '" + meta.key("embedding_length") + "' (" +
                            std::to_string(c.d_model) + ") is not a multiple of the " +
                            std::to_string(c.n_heads) + " attention heads and '" +
                            meta.key("attention.key_length") + "' is absent");
  }
  HEARTH_ASSIGN_OR_RETURN(c.head_dim,
                          meta.count_or("attention.key_length", c.d_model / c.n_heads, kMaxWidth));
  HEARTH_ASSIGN_OR_RETURN(const int64_t value_dim,
                          meta.count_or("attention.value_length", c.head_dim, kMaxWidth));
  if (value_dim != c.head_dim) {
    return unsupported("metadata '" + meta.key("attention.value_length") + "' (" +
                       std::to_string(value_dim) + ") differs from the key length " +
                       std::to_string(c.head_dim) + "; hearth needs them equal");
  }
  HEARTH_ASSIGN_OR_RETURN(c.context_length, meta.count("context_length", kMaxContext));
  if (!meta.has("attention.layer_norm_rms_epsilon")) {
    return not_found("metadata key '" + meta.key("attention.layer_norm_rms_epsilon") +
                     "' is missing");
  }
  HEARTH_ASSIGN_OR_RETURN(const double eps,
                          meta.positive_or("attention.layer_norm_rms_epsilon", 0));
  if (eps >= 1) {
    return invalid_argument("metadata '" + meta.key("attention.layer_norm_rms_epsilon") + "' is " +
                            std::to_string(eps) + "; it must be below 1");
  }
  c.rms_eps = static_cast<float>(eps);

  c.rope.layout = variant.gguf_rope_layout;
  c.rope.head_dim = c.head_dim;
  HEARTH_ASSIGN_OR_RETURN(c.rope.rotary_dim,
                          meta.count_or("rope.dimension_count", c.head_dim, c.head_dim));
  if (c.rope.rotary_dim % 2 != 0) {
    return invalid_argument("metadata '" + meta.key("rope.dimension_count") + "' is " +
                            std::to_string(c.rope.rotary_dim) + "; it must be even");
  }
  HEARTH_ASSIGN_OR_RETURN(c.rope.freq_base, meta.positive_or("rope.freq_base", 10000.0));
  HEARTH_ASSIGN_OR_RETURN(c.rope.scaling, rope_scaling_from_gguf(meta));
  HEARTH_ASSIGN_OR_RETURN(c.rope.freq_factors, rope_freq_factors(weights, c.rope.rotary_dim));
  // llama.cpp's converter leaves output.weight out when the head is tied.
  c.tie_embeddings = !weights.contains(tensor_name(WeightFormat::kGguf, LlamaTensor::kOutput));
  return c;
}

Expected<LlamaConfig> llama_config_from_hf(const HfModelConfig& hf) {
  const auto field_error = [](std::string_view field, const std::string& why) {
    return invalid_argument("config.json field '" + std::string(field) + "' " + why);
  };
  const auto in_range = [&](std::string_view field, int64_t v, int64_t max) -> Status {
    if (v < 1 || v > max) {
      return field_error(
          field, "is " + std::to_string(v) + "; it must be between 1 and " + std::to_string(max));
    }
    return {};
  };
  if (hf.quantization) {
    return unsupported("MLX-quantized checkpoints (config.json 'quantization') are not supported");
  }
  LlamaConfig c;
  c.n_layers = hf.num_hidden_layers;
  c.d_model = hf.hidden_size;
  c.n_heads = hf.num_attention_heads;
  c.n_kv_heads = hf.num_key_value_heads;
  c.head_dim = hf.head_dim;
  if (!hf.intermediate_size) return not_found("config.json has no 'intermediate_size'");
  c.d_ff = *hf.intermediate_size;
  if (!hf.max_position_embeddings) {
    return not_found("config.json has no 'max_position_embeddings'");
  }
  c.context_length = *hf.max_position_embeddings;
  HEARTH_RETURN_IF_ERROR(in_range("num_hidden_layers", c.n_layers, kMaxLayers));
  HEARTH_RETURN_IF_ERROR(in_range("hidden_size", c.d_model, kMaxWidth));
  HEARTH_RETURN_IF_ERROR(in_range("intermediate_size", c.d_ff, kMaxWidth));
  HEARTH_RETURN_IF_ERROR(in_range("num_attention_heads", c.n_heads, kMaxHeads));
  HEARTH_RETURN_IF_ERROR(in_range("num_key_value_heads", c.n_kv_heads, c.n_heads));
  HEARTH_RETURN_IF_ERROR(in_range("head_dim", c.head_dim, kMaxWidth));
  HEARTH_RETURN_IF_ERROR(in_range("max_position_embeddings", c.context_length, kMaxContext));
  if (c.n_heads % c.n_kv_heads != 0) {
    return field_error("num_attention_heads", "(" + std::to_string(c.n_heads) +
                                                  ") is not a multiple of num_key_value_heads (" +
                                                  std::to_string(c.n_kv_heads) + ")");
  }
  // Mistral-style sliding-window attention equals full attention while the sequence fits in
  // the window, so the window becomes the context limit (enforced, never truncated).
  const auto use_window = hf.raw.find("use_sliding_window");
  const bool window_on =
      use_window == hf.raw.end() || !use_window->is_boolean() || use_window->get<bool>();
  if (hf.sliding_window && window_on && *hf.sliding_window > 0 &&
      *hf.sliding_window < c.context_length) {
    c.context_length = *hf.sliding_window;
  }
  const double eps = hf.rms_norm_eps.value_or(1e-6);  // transformers' default
  if (!std::isfinite(eps) || eps <= 0 || eps >= 1) {
    return field_error("rms_norm_eps", "is " + std::to_string(eps) + "; it must be in (0, 1)");
  }
  c.rms_eps = static_cast<float>(eps);
  c.rope.layout = RopeLayout::kNeox;
  c.rope.head_dim = c.head_dim;
  c.rope.rotary_dim = c.head_dim;
  c.rope.freq_base = hf.rope_theta.value_or(10000.0);
  if (hf.rope_scaling) {
    const HfRopeScaling& s = *hf.rope_scaling;
    RopeScaling& r = c.rope.scaling;
    if (s.rope_type == "linear") {
      r.type = RopeScaling::Type::kLinear;
      r.factor = s.factor.value_or(1.0);
    } else if (s.rope_type == "llama3") {
      r.type = RopeScaling::Type::kLlama3;
      r.factor = s.factor.value_or(8.0);
      r.low_freq_factor = s.low_freq_factor.value_or(1.0);
      r.high_freq_factor = s.high_freq_factor.value_or(4.0);
      r.original_context_length =
          static_cast<double>(s.original_max_position_embeddings.value_or(8192));
    } else if (s.rope_type != "default" && !s.rope_type.empty()) {
      return unsupported("rope scaling '" + s.rope_type +
                         "' (config.json rope_scaling) is not supported; supported: linear, "
                         "llama3");
    }
  }
  c.tie_embeddings = hf.tie_word_embeddings.value_or(false);  // transformers' default
  return c;
}

namespace {

// ---- The model ---------------------------------------------------------------------------------

class LlamaModel final : public Model {
 public:
  static Expected<std::unique_ptr<LlamaModel>> create(ModelSource source, LlamaConfig config,
                                                      std::unique_ptr<Backend> backend,
                                                      const LoadOptions& options,
                                                      const LlamaVariant& variant);

  const ModelInfo& info() const override { return info_; }
  int64_t batched_kernel_min_tokens() const override {
    return backend_->batched_kernel_min_tokens();
  }
  Expected<std::unique_ptr<KvCache>> new_kv_cache(int64_t max_tokens) override;
  Status forward(KvCache& cache, std::span<const int32_t> tokens, LogitsFor which,
                 std::span<float> logits) override;
  Expected<int32_t> forward_pick(KvCache& cache, std::span<const int32_t> tokens,
                                 const TokenPick& pick) override;

 private:
  struct Layer {
    RmsNorm attn_norm;
    GqaAttention attention;
    RmsNorm ffn_norm;
    SwiGluMlp mlp;
  };

  LlamaModel(ModelSource source, LlamaConfig config, std::unique_ptr<Backend> backend)
      : config_(std::move(config)),
        weights_(std::move(source.weights)),
        backend_(std::move(backend)) {}

  Status load_weights(WeightFormat format, const LlamaVariant& variant);
  Status allocate_buffers(int64_t max_batch_tokens);
  Status check_input(const KvCache& cache, std::span<const int32_t> tokens, LogitsFor which,
                     size_t n_logits) const;
  // Runs `tokens` in chunks of max_batch_ and commits them to the cache. kAllTokens: writes
  // every row's logits to `all_logits`; kLastToken: leaves the last one in row 0 of logits_.
  Status run_steps(KvCache& cache, std::span<const int32_t> tokens, LogitsFor which,
                   std::span<float> all_logits);
  // Runs the transformer over one chunk, leaving the final hidden states in hidden_.
  Status run_chunk(KvCache& cache, std::span<const int32_t> tokens,
                   std::span<const int32_t> positions);
  // Final norm and output head for rows [first, first + count) of hidden_ -> logits_ rows.
  Status head_rows(int64_t first, int64_t count);
  // head_rows for any number of rows, copied to host logits.
  Status logits_for_rows(int64_t first, int64_t count, std::span<float> out);
  TensorView rows(const BackendBuffer& buffer, int64_t n, int64_t cols,
                  int64_t first_row = 0) const {
    return buffer.view(DType::kF32, Shape{n, cols},
                       static_cast<size_t>(first_row * cols) * sizeof(float));
  }

  ModelInfo info_;
  LlamaConfig config_;
  WeightStore weights_;               // keeps the mapped file alive under the prepared views
  std::unique_ptr<Backend> backend_;  // owns prepared vectors; outlives the layers below
  RopeSpec rope_;
  TokenEmbedding embedding_;
  std::vector<Layer> layers_;
  RmsNorm output_norm_;
  OutputHead head_;

  // Activations for up to max_batch_ tokens (logits_ for kLogitRowsPerStep rows).
  int64_t max_batch_ = 0;
  BackendBuffer hidden_;            // [B, d] residual stream
  BackendBuffer normed_;            // [B, d]
  BackendBuffer proj_;              // [B, d] attention / MLP output before the residual add
  BackendBuffer q_;                 // [B, n_heads * head_dim]
  BackendBuffer k_;                 // [B, n_kv_heads * head_dim]
  BackendBuffer v_;                 // [B, n_kv_heads * head_dim]
  BackendBuffer context_;           // [B, n_heads * head_dim]
  BackendBuffer gate_;              // [B, d_ff]
  BackendBuffer up_;                // [B, d_ff]
  BackendBuffer logits_;            // [kLogitRowsPerStep, vocab]
  std::vector<int32_t> positions_;  // [B]
};

Expected<std::unique_ptr<LlamaModel>> LlamaModel::create(ModelSource source, LlamaConfig config,
                                                         std::unique_ptr<Backend> backend,
                                                         const LoadOptions& options,
                                                         const LlamaVariant& variant) {
  if (options.max_batch_tokens < 1 || options.max_batch_tokens > 1 << 16) {
    return invalid_argument("max_batch_tokens " + std::to_string(options.max_batch_tokens) +
                            " must be between 1 and 65536");
  }
  const WeightFormat format = source.format;
  ModelInfo info;
  info.architecture = source.architecture;
  info.name = source.path;
  if (source.gguf != nullptr) {
    if (auto name = source.gguf->get_string("general.name"); name.ok()) info.name = *name;
  }
  std::unique_ptr<LlamaModel> model(
      new LlamaModel(std::move(source), std::move(config), std::move(backend)));
  HEARTH_ASSIGN_OR_RETURN(model->rope_, make_rope_spec(model->config_.rope));
  HEARTH_RETURN_IF_ERROR(model->load_weights(format, variant));
  const LlamaConfig& c = model->config_;
  info.vocab_size = model->embedding_.vocab_size();
  info.context_length = c.context_length;
  info.n_layers = c.n_layers;
  info.d_model = c.d_model;
  info.n_heads = c.n_heads;
  info.n_kv_heads = c.n_kv_heads;
  info.head_dim = c.head_dim;
  model->info_ = std::move(info);
  HEARTH_RETURN_IF_ERROR(model->allocate_buffers(options.max_batch_tokens));
  return model;
}

Status LlamaModel::load_weights(WeightFormat format, const LlamaVariant& variant) {
  const LlamaConfig& c = config_;
  Backend& be = *backend_;
  const auto name = [format](LlamaTensor t, int64_t layer = -1) {
    return tensor_name(format, t, layer);
  };
  HEARTH_ASSIGN_OR_RETURN(
      embedding_, TokenEmbedding::load(be, weights_, name(LlamaTensor::kEmbedding), c.d_model));
  HEARTH_ASSIGN_OR_RETURN(output_norm_, RmsNorm::load(be, weights_, name(LlamaTensor::kOutputNorm),
                                                      c.d_model, c.rms_eps));
  HEARTH_ASSIGN_OR_RETURN(head_, OutputHead::load(be, weights_, name(LlamaTensor::kOutput),
                                                  c.tie_embeddings, embedding_));

  const int64_t q_dim = c.n_heads * c.head_dim;
  const int64_t kv_dim = c.n_kv_heads * c.head_dim;
  const AttentionShape shape{c.n_heads, c.n_kv_heads, c.head_dim};
  layers_.reserve(static_cast<size_t>(c.n_layers));
  for (int64_t i = 0; i < c.n_layers; ++i) {
    Layer layer;
    HEARTH_ASSIGN_OR_RETURN(
        layer.attn_norm,
        RmsNorm::load(be, weights_, name(LlamaTensor::kAttnNorm, i), c.d_model, c.rms_eps));
    HEARTH_ASSIGN_OR_RETURN(Linear q,
                            Linear::load(be, weights_, name(LlamaTensor::kQ, i), q_dim, c.d_model));
    HEARTH_ASSIGN_OR_RETURN(
        Linear k, Linear::load(be, weights_, name(LlamaTensor::kK, i), kv_dim, c.d_model));
    HEARTH_ASSIGN_OR_RETURN(
        Linear v, Linear::load(be, weights_, name(LlamaTensor::kV, i), kv_dim, c.d_model));
    HEARTH_ASSIGN_OR_RETURN(Linear o,
                            Linear::load(be, weights_, name(LlamaTensor::kO, i), c.d_model, q_dim));
    const bool has_bias = weights_.contains(name(LlamaTensor::kQBias, i)) &&
                          weights_.contains(name(LlamaTensor::kKBias, i)) &&
                          weights_.contains(name(LlamaTensor::kVBias, i));
    if (variant.requires_qkv_bias || has_bias) {
      HEARTH_RETURN_IF_ERROR(q.load_bias(be, weights_, name(LlamaTensor::kQBias, i)));
      HEARTH_RETURN_IF_ERROR(k.load_bias(be, weights_, name(LlamaTensor::kKBias, i)));
      HEARTH_RETURN_IF_ERROR(v.load_bias(be, weights_, name(LlamaTensor::kVBias, i)));
    }
    layer.attention = GqaAttention(q, k, v, o, shape, &rope_);
    HEARTH_ASSIGN_OR_RETURN(
        layer.ffn_norm,
        RmsNorm::load(be, weights_, name(LlamaTensor::kFfnNorm, i), c.d_model, c.rms_eps));
    HEARTH_ASSIGN_OR_RETURN(
        Linear gate, Linear::load(be, weights_, name(LlamaTensor::kGate, i), c.d_ff, c.d_model));
    HEARTH_ASSIGN_OR_RETURN(
        Linear up, Linear::load(be, weights_, name(LlamaTensor::kUp, i), c.d_ff, c.d_model));
    HEARTH_ASSIGN_OR_RETURN(
        Linear down, Linear::load(be, weights_, name(LlamaTensor::kDown, i), c.d_model, c.d_ff));
    layer.mlp = SwiGluMlp(gate, up, down);
    layers_.push_back(std::move(layer));
  }
  return {};
}

Status LlamaModel::allocate_buffers(int64_t max_batch_tokens) {
  const LlamaConfig& c = config_;
  max_batch_ = max_batch_tokens;
  const auto alloc = [&](BackendBuffer& buf, int64_t rows_n, int64_t cols) -> Status {
    HEARTH_ASSIGN_OR_RETURN(buf,
                            backend_->allocate(static_cast<size_t>(rows_n * cols) * sizeof(float)));
    return {};
  };
  const int64_t q_dim = c.n_heads * c.head_dim;
  const int64_t kv_dim = c.n_kv_heads * c.head_dim;
  HEARTH_RETURN_IF_ERROR(alloc(hidden_, max_batch_, c.d_model));
  HEARTH_RETURN_IF_ERROR(alloc(normed_, max_batch_, c.d_model));
  HEARTH_RETURN_IF_ERROR(alloc(proj_, max_batch_, c.d_model));
  HEARTH_RETURN_IF_ERROR(alloc(q_, max_batch_, q_dim));
  HEARTH_RETURN_IF_ERROR(alloc(k_, max_batch_, kv_dim));
  HEARTH_RETURN_IF_ERROR(alloc(v_, max_batch_, kv_dim));
  HEARTH_RETURN_IF_ERROR(alloc(context_, max_batch_, q_dim));
  HEARTH_RETURN_IF_ERROR(alloc(gate_, max_batch_, c.d_ff));
  HEARTH_RETURN_IF_ERROR(alloc(up_, max_batch_, c.d_ff));
  HEARTH_RETURN_IF_ERROR(alloc(logits_, kLogitRowsPerStep, info_.vocab_size));
  positions_.resize(static_cast<size_t>(max_batch_));
  ScratchPlan plan;
  plan.max_tokens = max_batch_;
  plan.max_matmul_inner = std::max({c.d_model, c.d_ff, q_dim});
  plan.max_heads = c.n_heads;
  return backend_->reserve_scratch(plan);
}

Expected<std::unique_ptr<KvCache>> LlamaModel::new_kv_cache(int64_t max_tokens) {
  if (max_tokens < 0) {
    return invalid_argument("KV cache size " + std::to_string(max_tokens) + " is negative");
  }
  if (max_tokens > info_.context_length) {
    return out_of_range("a KV cache of " + std::to_string(max_tokens) +
                        " positions exceeds the context length of " + info_.name + " (" +
                        std::to_string(info_.context_length) + " tokens)");
  }
  KvCacheGeometry g;
  g.n_layers = config_.n_layers;
  g.n_kv_heads = config_.n_kv_heads;
  g.head_dim = config_.head_dim;
  g.capacity = max_tokens == 0 ? info_.context_length : max_tokens;
  g.dtype = backend_->kv_cache_dtype();
  ScratchPlan plan;
  plan.max_tokens = max_batch_;
  plan.max_attention_keys = g.capacity;
  plan.max_heads = config_.n_heads;
  HEARTH_RETURN_IF_ERROR(backend_->reserve_scratch(plan));
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<ContiguousKvCache> cache,
                          ContiguousKvCache::create(*backend_, g));
  return std::unique_ptr<KvCache>(std::move(cache));
}

Status LlamaModel::check_input(const KvCache& cache, std::span<const int32_t> tokens,
                               LogitsFor which, size_t n_logits) const {
  const KvCacheGeometry& g = cache.geometry();
  if (g.n_layers != config_.n_layers || g.n_kv_heads != config_.n_kv_heads ||
      g.head_dim != config_.head_dim) {
    return invalid_argument("the KV cache was not made for this model (use new_kv_cache)");
  }
  if (tokens.empty()) return invalid_argument("forward needs at least one token");
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  const int64_t limit = std::min(cache.capacity(), info_.context_length);
  if (n_tokens > limit - cache.size()) {
    return out_of_range(
        std::to_string(n_tokens) + " tokens do not fit: the sequence already holds " +
        std::to_string(cache.size()) + " and its limit is " + std::to_string(limit) +
        " (context length of " + info_.name + ": " + std::to_string(info_.context_length) + ")");
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= info_.vocab_size) {
      return out_of_range("token id " + std::to_string(tokens[i]) + " at index " +
                          std::to_string(i) + " is outside the vocabulary of " +
                          std::to_string(info_.vocab_size) + " tokens");
    }
  }
  const size_t want =
      static_cast<size_t>(info_.vocab_size) * (which == LogitsFor::kAllTokens ? tokens.size() : 1);
  if (n_logits != want) {
    return invalid_argument("logits buffer holds " + std::to_string(n_logits) + " floats, needs " +
                            std::to_string(want));
  }
  return {};
}

Status LlamaModel::forward(KvCache& cache, std::span<const int32_t> tokens, LogitsFor which,
                           std::span<float> logits) {
  HEARTH_RETURN_IF_ERROR(check_input(cache, tokens, which, logits.size()));
  HEARTH_RETURN_IF_ERROR(run_steps(cache, tokens, which, logits));
  if (which == LogitsFor::kAllTokens) return {};
  return backend_->read(rows(logits_, 1, info_.vocab_size), logits);
}

Expected<int32_t> LlamaModel::forward_pick(KvCache& cache, std::span<const int32_t> tokens,
                                           const TokenPick& pick) {
  HEARTH_RETURN_IF_ERROR(check_token_pick(pick, static_cast<size_t>(info_.vocab_size)));
  HEARTH_RETURN_IF_ERROR(
      check_input(cache, tokens, LogitsFor::kLastToken, static_cast<size_t>(info_.vocab_size)));
  HEARTH_RETURN_IF_ERROR(run_steps(cache, tokens, LogitsFor::kLastToken, {}));
  return backend_->pick_token(rows(logits_, 1, info_.vocab_size), pick);
}

namespace {

uint64_t mix_bits(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

// A one-token step that ends in the last token's logits is the same op sequence at every
// position of a cache: a backend may record it once per cache (its buffers are baked in).
StepKey decode_step_key(const KvCache& cache, int64_t n_tokens, bool head_in_step) {
  if (n_tokens != 1 || !head_in_step) return {};
  auto layer0 = cache.prefix(0, cache.capacity());
  if (!layer0.ok()) return {};
  uint64_t h = 0x6865617274680001ull;  // "hearth", version 1
  h = mix_bits(h, reinterpret_cast<uintptr_t>(layer0->keys.data()));
  h = mix_bits(h, reinterpret_cast<uintptr_t>(layer0->values.data()));
  h = mix_bits(h, static_cast<uint64_t>(cache.capacity()));
  return StepKey{h == 0 ? 1 : h};
}

}  // namespace

Status LlamaModel::run_steps(KvCache& cache, std::span<const int32_t> tokens, LogitsFor which,
                             std::span<float> all_logits) {
  const int64_t start = cache.size();
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  const int64_t vocab = info_.vocab_size;
  Status status;
  int64_t chunk = 0;
  for (int64_t first = 0; first < n_tokens && status.ok(); first += chunk) {
    chunk = std::min(max_batch_, n_tokens - first);
    for (int64_t i = 0; i < chunk; ++i) {
      positions_[static_cast<size_t>(i)] = static_cast<int32_t>(start + first + i);
    }
    const auto chunk_tokens =
        tokens.subspan(static_cast<size_t>(first), static_cast<size_t>(chunk));
    const std::span<const int32_t> chunk_positions(positions_.data(), static_cast<size_t>(chunk));
    const bool head_in_step = which == LogitsFor::kLastToken && first + chunk == n_tokens;
    status = backend_->begin_step(chunk_tokens, chunk_positions);
    if (status.ok()) {
      status = backend_->run_step(decode_step_key(cache, chunk, head_in_step), [&]() -> Status {
        HEARTH_RETURN_IF_ERROR(run_chunk(cache, chunk_tokens, chunk_positions));
        return head_in_step ? head_rows(chunk - 1, 1) : Status{};
      });
    }
    if (status.ok()) status = cache.commit(start + first + chunk);
    if (status.ok() && which == LogitsFor::kAllTokens) {
      status = logits_for_rows(0, chunk,
                               all_logits.subspan(static_cast<size_t>(first * vocab),
                                                  static_cast<size_t>(chunk * vocab)));
    }
  }
  if (!status.ok()) {
    (void)cache.truncate(start);  // leave the sequence as it was
    return status;
  }
  return {};
}

Status LlamaModel::run_chunk(KvCache& cache, std::span<const int32_t> tokens,
                             std::span<const int32_t> positions) {
  const LlamaConfig& c = config_;
  Backend& be = *backend_;
  const auto n = static_cast<int64_t>(tokens.size());
  const TensorView x = rows(hidden_, n, c.d_model);
  const TensorView xn = rows(normed_, n, c.d_model);
  const TensorView proj = rows(proj_, n, c.d_model);
  const AttentionBuffers attention_buffers{
      rows(q_, n, c.n_heads * c.head_dim), rows(k_, n, c.n_kv_heads * c.head_dim),
      rows(v_, n, c.n_kv_heads * c.head_dim), rows(context_, n, c.n_heads * c.head_dim)};
  const MlpBuffers mlp_buffers{rows(gate_, n, c.d_ff), rows(up_, n, c.d_ff)};

  HEARTH_RETURN_IF_ERROR(embedding_.forward(be, tokens, x));
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    HEARTH_RETURN_IF_ERROR(layer.attn_norm.forward(be, x, xn));
    HEARTH_RETURN_IF_ERROR(layer.attention.forward(
        be, xn, positions, cache, static_cast<int64_t>(l), attention_buffers, proj));
    HEARTH_RETURN_IF_ERROR(be.add(x, proj, x));
    HEARTH_RETURN_IF_ERROR(layer.ffn_norm.forward(be, x, xn));
    HEARTH_RETURN_IF_ERROR(layer.mlp.forward(be, xn, mlp_buffers, proj));
    HEARTH_RETURN_IF_ERROR(be.add(x, proj, x));
  }
  return {};
}

Status LlamaModel::head_rows(int64_t first, int64_t count) {
  const int64_t d = config_.d_model;
  const TensorView hidden = rows(hidden_, count, d, first);
  const TensorView normed = rows(normed_, count, d);
  const TensorView logits = rows(logits_, count, info_.vocab_size);
  HEARTH_RETURN_IF_ERROR(output_norm_.forward(*backend_, hidden, normed));
  return head_.forward(*backend_, normed, logits);
}

Status LlamaModel::logits_for_rows(int64_t first, int64_t count, std::span<float> out) {
  const int64_t vocab = info_.vocab_size;
  for (int64_t done = 0; done < count; done += kLogitRowsPerStep) {
    const int64_t m = std::min(kLogitRowsPerStep, count - done);
    HEARTH_RETURN_IF_ERROR(head_rows(first + done, m));
    HEARTH_RETURN_IF_ERROR(backend_->read(
        rows(logits_, m, vocab),
        out.subspan(static_cast<size_t>(done * vocab), static_cast<size_t>(m * vocab))));
  }
  return {};
}

}  // namespace

Expected<std::unique_ptr<Model>> load_llama_family(ModelSource source,
                                                   std::unique_ptr<Backend> backend,
                                                   const LoadOptions& options,
                                                   const LlamaVariant& variant) {
  LlamaConfig config;
  if (source.format == WeightFormat::kGguf && source.gguf != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(
        config, llama_config_from_gguf(*source.gguf, source.architecture, source.weights, variant));
  } else if (source.format == WeightFormat::kSafetensors && source.hf_config != nullptr) {
    HEARTH_ASSIGN_OR_RETURN(config, llama_config_from_hf(*source.hf_config));
  } else {
    return internal_error("model source '" + source.path + "' has no configuration");
  }
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<LlamaModel> model,
                          LlamaModel::create(std::move(source), std::move(config),
                                             std::move(backend), options, variant));
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace hearth
