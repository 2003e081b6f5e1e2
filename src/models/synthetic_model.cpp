#include "models/synthetic_model.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "core/fp16.h"
#include "core/thread_pool.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "models/load_model.h"

namespace hearth {
namespace {

const std::array<SyntheticShape, 3> kShapes = {{
    // name, layers, d_model, heads, kv heads, head_dim, d_ff, vocab, context, rope theta, eps, tied
    {"llama3-8b", 32, 4096, 32, 8, 128, 14336, 128256, 131072, 500000.0, 1e-5f, false},
    {"qwen3-8b", 36, 4096, 32, 8, 128, 12288, 151936, 40960, 1000000.0, 1e-6f, false},
    {"smollm2-135m", 30, 576, 9, 3, 64, 1536, 49152, 8192, 100000.0, 1e-5f, true},
}};

// Weight standard deviation of the random matrices (trained LLM weights are of this order).
constexpr float kWeightStd = 0.02f;

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in [lo, hi) from 24 random bits.
float uniform(uint64_t bits, float lo, float hi) {
  return lo + (hi - lo) * static_cast<float>(bits >> 40) * (1.0f / 16777216.0f);
}

void put_u16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}

// One tensor of the model: its GGUF name, shape (numpy order) and type.
struct TensorSpec {
  std::string name;
  Shape shape;
  DType dtype;
};

std::vector<TensorSpec> tensor_specs(const SyntheticShape& s, DType w) {
  const int64_t q_dim = s.n_heads * s.head_dim, kv_dim = s.n_kv_heads * s.head_dim;
  std::vector<TensorSpec> out;
  out.push_back({"token_embd.weight", Shape{s.vocab, s.d_model}, w});
  out.push_back({"output_norm.weight", Shape{s.d_model}, DType::kF32});
  if (!s.tie_embeddings) out.push_back({"output.weight", Shape{s.vocab, s.d_model}, w});
  for (int64_t l = 0; l < s.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    out.push_back({p + "attn_norm.weight", Shape{s.d_model}, DType::kF32});
    out.push_back({p + "attn_q.weight", Shape{q_dim, s.d_model}, w});
    out.push_back({p + "attn_k.weight", Shape{kv_dim, s.d_model}, w});
    out.push_back({p + "attn_v.weight", Shape{kv_dim, s.d_model}, w});
    out.push_back({p + "attn_output.weight", Shape{s.d_model, q_dim}, w});
    out.push_back({p + "ffn_norm.weight", Shape{s.d_model}, DType::kF32});
    out.push_back({p + "ffn_gate.weight", Shape{s.d_ff, s.d_model}, w});
    out.push_back({p + "ffn_up.weight", Shape{s.d_ff, s.d_model}, w});
    out.push_back({p + "ffn_down.weight", Shape{s.d_model, s.d_ff}, w});
  }
  return out;
}

uint64_t tensor_bytes(const TensorSpec& t) {
  return *dtype_row_bytes(t.dtype, static_cast<uint64_t>(t.shape.cols())) *
         static_cast<uint64_t>(t.shape.rows());
}

bool is_norm(const TensorSpec& t) {
  return t.shape.rank() == 1;
}

// Fills blocks [first, end) of a tensor: random quants, scales giving weights of kWeightStd.
void fill_blocks(const TensorSpec& t, uint64_t first, uint64_t end, uint64_t seed, uint8_t* dst) {
  uint64_t state = seed ^ (first * 0xd1b54a32d192ed03ull);
  const auto bytes = [&](uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i += 8) {
      const uint64_t r = splitmix64(state);
      std::memcpy(p + i, &r, std::min<size_t>(8, n - i));
    }
  };
  for (uint64_t b = first; b < end; ++b) {
    const float jitter = uniform(splitmix64(state), 0.5f, 1.5f);
    switch (t.dtype) {
      case DType::kQ4_0: {  // d * (q - 8), q uniform in 0..15: std 4.6 d
        uint8_t* p = dst + b * 18;
        put_u16(p, f32_to_fp16(kWeightStd / 4.6f * jitter));
        bytes(p + 2, 16);
        break;
      }
      case DType::kQ4_1: {  // d * q + m with m = -8 d
        uint8_t* p = dst + b * 20;
        const float d = kWeightStd / 4.6f * jitter;
        put_u16(p, f32_to_fp16(d));
        put_u16(p + 2, f32_to_fp16(-8.0f * d));
        bytes(p + 4, 16);
        break;
      }
      case DType::kQ8_0: {  // d * q, q uniform int8: std 74 d
        uint8_t* p = dst + b * 34;
        put_u16(p, f32_to_fp16(kWeightStd / 74.0f * jitter));
        bytes(p + 2, 32);
        break;
      }
      case DType::kF32: {
        const float v = is_norm(t) ? uniform(splitmix64(state), 0.9f, 1.1f)
                                   : uniform(splitmix64(state), -1.73f, 1.73f) * kWeightStd;
        std::memcpy(dst + b * 4, &v, 4);
        break;
      }
      case DType::kF16:
        put_u16(dst + b * 2, f32_to_fp16(uniform(splitmix64(state), -1.73f, 1.73f) * kWeightStd));
        break;
      case DType::kBF16:
        put_u16(dst + b * 2, f32_to_bf16(uniform(splitmix64(state), -1.73f, 1.73f) * kWeightStd));
        break;
      default:
        break;  // synthetic_weight_type admits only the types above
    }
  }
}

// The random bytes of tensor number `index`, filled in parallel (deterministic for a seed).
void fill_tensor(const TensorSpec& t, size_t index, uint64_t seed, ThreadPool& pool,
                 std::span<uint8_t> dst) {
  const DTypeTraits& traits = dtype_traits(t.dtype);
  const uint64_t blocks = dst.size() / traits.block_bytes;
  constexpr uint64_t kBlocksPerTask = 1 << 16;
  uint64_t tensor_seed = seed ^ (0x243f6a8885a308d3ull * (index + 1));
  tensor_seed = splitmix64(tensor_seed);
  const auto tasks = static_cast<int64_t>((blocks + kBlocksPerTask - 1) / kBlocksPerTask);
  pool.parallel_for(tasks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const uint64_t first = static_cast<uint64_t>(task) * kBlocksPerTask;
      fill_blocks(t, first, std::min(blocks, first + kBlocksPerTask), tensor_seed, dst.data());
    }
  });
}

// Metadata both hearth and llama.cpp read for a llama-architecture model.
void set_metadata(GgufWriter& w, const SyntheticShape& s, DType weights) {
  const auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "synthetic " + s.name + " " + std::string(dtype_name(weights)) +
                                   " (random weights)");
  w.set_uint32("llama.block_count", u32(s.n_layers));
  w.set_uint32("llama.context_length", u32(s.context_length));
  w.set_uint32("llama.embedding_length", u32(s.d_model));
  w.set_uint32("llama.feed_forward_length", u32(s.d_ff));
  w.set_uint32("llama.attention.head_count", u32(s.n_heads));
  w.set_uint32("llama.attention.head_count_kv", u32(s.n_kv_heads));
  w.set_uint32("llama.attention.key_length", u32(s.head_dim));
  w.set_uint32("llama.attention.value_length", u32(s.head_dim));
  w.set_uint32("llama.rope.dimension_count", u32(s.head_dim));
  w.set_float32("llama.rope.freq_base", static_cast<float>(s.rope_theta));
  w.set_float32("llama.attention.layer_norm_rms_epsilon", s.rms_eps);
  w.set_uint32("llama.vocab_size", u32(s.vocab));
  // llama.cpp: no tokenizer, `vocab_size` placeholder tokens (hearth bench needs none either).
  w.set_string("tokenizer.ggml.model", "none");
}

Status check_shape(const SyntheticShape& s, DType weights) {
  const uint32_t block = dtype_traits(weights).block_elems;
  for (int64_t cols : {s.d_model, s.d_ff, s.n_heads * s.head_dim}) {
    if (cols % block != 0) {
      return invalid_argument(s.name + ": width " + std::to_string(cols) +
                              " is not a multiple of the " + std::to_string(block) +
                              "-element blocks of " + std::string(dtype_name(weights)));
    }
  }
  return {};
}

// Owns what the loaded model points into: the metadata container and the weight bytes.
class SyntheticModel final : public Model {
 public:
  SyntheticModel(std::vector<uint8_t> metadata, std::unique_ptr<GgufFile> file)
      : metadata_(std::move(metadata)), file_(std::move(file)) {}
  void set_model(std::unique_ptr<Model> model) { model_ = std::move(model); }

  const ModelInfo& info() const override { return model_->info(); }
  int64_t batched_kernel_min_tokens() const override { return model_->batched_kernel_min_tokens(); }
  Expected<std::unique_ptr<KvCache>> new_kv_cache(int64_t max_tokens) override {
    return model_->new_kv_cache(max_tokens);
  }
  Status forward(KvCache& cache, std::span<const int32_t> tokens, LogitsFor which,
                 std::span<float> logits) override {
    return model_->forward(cache, tokens, which, logits);
  }
  Expected<int32_t> forward_pick(KvCache& cache, std::span<const int32_t> tokens,
                                 const TokenPick& pick) override {
    return model_->forward_pick(cache, tokens, pick);
  }

 private:
  std::vector<uint8_t> metadata_;
  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<Model> model_;  // destroyed first
};

}  // namespace

Expected<SyntheticShape> synthetic_shape(std::string_view name) {
  for (const SyntheticShape& s : kShapes) {
    if (s.name == name) return s;
  }
  return not_found("no synthetic model '" + std::string(name) +
                   "' (known: " + synthetic_shape_names() + ")");
}

std::string synthetic_shape_names() {
  std::string out;
  for (const SyntheticShape& s : kShapes) out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

Expected<DType> synthetic_weight_type(std::string_view name) {
  const auto t = dtype_from_name(name);
  if (t && (*t == DType::kQ4_0 || *t == DType::kQ4_1 || *t == DType::kQ8_0 || *t == DType::kF16 ||
            *t == DType::kBF16 || *t == DType::kF32)) {
    return *t;
  }
  return invalid_argument("synthetic weights of type '" + std::string(name) +
                          "' are not supported (use q4_0, q4_1, q8_0, f16, bf16 or f32)");
}

uint64_t synthetic_weight_bytes_per_token(const SyntheticShape& shape, DType weights) {
  uint64_t bytes = 0;
  for (const TensorSpec& t : tensor_specs(shape, weights)) {
    if (t.name == "token_embd.weight" && !shape.tie_embeddings) continue;  // one row gathered
    bytes += tensor_bytes(t);
  }
  return bytes;
}

Expected<std::unique_ptr<Model>> load_synthetic_model(const SyntheticShape& shape, DType weights,
                                                      uint64_t seed, const LoadOptions& options) {
  HEARTH_RETURN_IF_ERROR(check_shape(shape, weights));
  GgufWriter writer;
  set_metadata(writer, shape, weights);
  std::vector<uint8_t> metadata = writer.serialize();
  HEARTH_ASSIGN_OR_RETURN(GgufFile parsed, GgufFile::parse(metadata));
  auto file = std::make_unique<GgufFile>(std::move(parsed));

  ModelSource source;
  source.path = "synthetic:" + shape.name + ":" + std::string(dtype_name(weights));
  source.architecture = "llama";
  source.format = WeightFormat::kGguf;
  source.gguf = file.get();
  ThreadPool pool(ThreadPool::physical_cores());
  const std::vector<TensorSpec> specs = tensor_specs(shape, weights);
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& t = specs[i];
    const uint64_t bytes = tensor_bytes(t);
    std::shared_ptr<uint8_t[]> data(new (std::nothrow) uint8_t[bytes]);
    if (!data) {
      return resource_exhausted("out of host memory for synthetic tensor '" + t.name + "' (" +
                                std::to_string(bytes) + " bytes)");
    }
    fill_tensor(t, i, seed, pool, std::span<uint8_t>(data.get(), bytes));
    HEARTH_RETURN_IF_ERROR(source.weights.add(t.name, TensorView(data.get(), t.dtype, t.shape)));
    source.weights.add_owner(std::shared_ptr<const void>(data, data.get()));
  }
  auto model = std::make_unique<SyntheticModel>(std::move(metadata), std::move(file));
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<Model> inner,
                          load_model_source(std::move(source), options));
  model->set_model(std::move(inner));
  return std::unique_ptr<Model>(std::move(model));
}

Status write_synthetic_gguf(const SyntheticShape& shape, DType weights, uint64_t seed,
                            const std::string& path) {
  HEARTH_RETURN_IF_ERROR(check_shape(shape, weights));
  GgufWriter writer;
  set_metadata(writer, shape, weights);
  ThreadPool pool(ThreadPool::physical_cores());
  const std::vector<TensorSpec> specs = tensor_specs(shape, weights);
  std::vector<uint8_t> data;
  for (size_t i = 0; i < specs.size(); ++i) {
    data.resize(tensor_bytes(specs[i]));
    fill_tensor(specs[i], i, seed, pool, data);
    HEARTH_RETURN_IF_ERROR(writer.add_tensor(specs[i].name, specs[i].dtype, specs[i].shape, data));
  }
  return writer.write(path);
}

}  // namespace hearth
