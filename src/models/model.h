// A loaded language model: token ids in, logits out. Sequence state lives in a KvCache the
// caller owns, so one model serves many sequences.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/token_pick.h"
#include "hearth/status.h"
#include "runtime/kv/kv_cache.h"

namespace hearth {

struct ModelInfo {
  std::string architecture;  // GGUF general.architecture / HF model_type: "llama", "qwen2"
  std::string name;          // general.name, or the file name
  int64_t vocab_size = 0;
  int64_t context_length = 0;  // longest sequence the model accepts (positions)
  int64_t n_layers = 0;
  int64_t d_model = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
};

struct LoadOptions {
  int n_threads = 0;  // 0: one per physical core
  // "cpu" (the SIMD kernels), "cuda" (a GPU; builds with -DHEARTH_CUDA=ON) or "reference" (the
  // scalar oracle ops the golden tests compare against). Empty: $HEARTH_BACKEND when set, else
  // "cpu".
  std::string backend;
  // Tokens processed per step of prefill; longer inputs run in chunks of this many. Activation
  // buffers are sized for it at load.
  int64_t max_batch_tokens = 256;
};

enum class LogitsFor : uint8_t {
  kLastToken,  // logits [vocab] of the last input token (generation)
  kAllTokens,  // logits [T, vocab] of every input token (scoring, tests)
};

class Model {
 public:
  virtual ~Model() = default;

  virtual const ModelInfo& info() const = 0;
  // Forwards of fewer tokens than this run the decode kernels, with slightly different numerics
  // (Backend::batched_kernel_min_tokens); prompt chunks should be at least this long.
  virtual int64_t batched_kernel_min_tokens() const { return 1; }

  // An empty cache for one sequence of up to `max_tokens` positions (0: the context length).
  // OutOfRange when `max_tokens` exceeds the model's context length. The cache's memory
  // belongs to the model's backend: it must not outlive the model.
  virtual Expected<std::unique_ptr<KvCache>> new_kv_cache(int64_t max_tokens) = 0;

  // Runs `tokens` at positions cache.size() .. cache.size() + T - 1, appends their keys and
  // values to `cache`, and writes logits to `logits` ([vocab] or [T, vocab] per `which`).
  // OutOfRange, with the cache unchanged, when the tokens do not fit in the cache or the model's
  // context (never truncates) or a token id is outside the vocabulary.
  virtual Status forward(KvCache& cache, std::span<const int32_t> tokens, LogitsFor which,
                         std::span<float> logits) = 0;

  // forward(cache, tokens, kLastToken, ...) and then the next token chosen from those logits as
  // `pick` says, on the model's backend where it can: then only the token id leaves a GPU.
  virtual Expected<int32_t> forward_pick(KvCache& cache, std::span<const int32_t> tokens,
                                         const TokenPick& pick) {
    std::vector<float> logits(static_cast<size_t>(info().vocab_size));
    HEARTH_RETURN_IF_ERROR(forward(cache, tokens, LogitsFor::kLastToken, logits));
    return pick_token_on_host(logits, pick);
  }
};

}  // namespace hearth
