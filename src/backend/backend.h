// The op set a model's forward pass runs on. Models call only this interface, never a kernel
// directly, so the same model code runs on the reference ops (backend/reference), the fast CPU
// kernels and CUDA:
//  - Quantization is opaque to the model: weights go through prepare_matrix() once at load and
//    matmul()/embedding() pick the kernel from the prepared view's dtype. A backend that cannot
//    handle a dtype says so at load, naming the tensor, never mid-request.
//  - Every fast op has a slow twin: ReferenceBackend implements each op plainly; the parity
//    tests run any backend against it.
//  - No allocation per token: activations live in buffers from allocate() sized at load, and
//    reserve_scratch() sizes whatever an op needs internally (dequantized rows, scores).
//
// Conventions: activations are f32, row-major, one row per token ([T, features] or
// [T, heads, head_dim]); weights are [out_features, in_features] as stored in GGUF/safetensors.
// Token ids and positions are host spans. Ops run in call order; elementwise ops (add, swiglu)
// allow the output to alias an input, the others do not. Shapes are checked and a mismatch is
// an InvalidArgument naming both shapes.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "backend/backend_buffer.h"
#include "backend/rope_spec.h"
#include "backend/token_pick.h"
#include "core/function_ref.h"
#include "core/tensor.h"
#include "hearth/status.h"

namespace hearth {

// Largest shapes a model will hand to the ops; lets a backend size its scratch at load.
// One weight of a group that multiplies the same input (matmul_shared_input).
struct MatmulTarget {
  const TensorView* weight = nullptr;  // [N, K]
  const TensorView* bias = nullptr;    // [N] f32, or null
  TensorView out;                      // [T, N]
};

struct ScratchPlan {
  int64_t max_tokens = 1;          // rows of x in one call
  int64_t max_matmul_inner = 0;    // largest K of a matmul
  int64_t max_attention_keys = 0;  // longest KV span attended over (the context length)
  int64_t max_heads = 0;           // query heads
};

// Names one forward step for backends that record a step's work once and replay it (CUDA graphs).
struct StepKey {
  // Equal ids promise the same op calls on the same buffers and shapes; only the token ids and
  // positions given to begin_step() may differ. 0: never record this step.
  uint64_t id = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string_view name() const = 0;
  virtual int n_threads() const = 0;
  // Matmuls of fewer rows than this take the decode kernels (CPU: 8-bit activations), whose
  // logits differ from the batched kernels' by about 1%. Prompt processing keeps its chunks at
  // least this long so a prompt gets the same numerics however much of it was cached.
  virtual int64_t batched_kernel_min_tokens() const { return 1; }

  // --- load time ---------------------------------------------------------------------------
  // A weight matrix [N, K] (or embedding table [vocab, dim]) as this backend's matmul/embedding
  // will read it: the stored view itself on CPU (zero-copy), an uploaded or repacked copy
  // elsewhere. Unsupported, naming `name` and the dtype, when no kernel handles its type.
  virtual Expected<TensorView> prepare_matrix(std::string_view name, const TensorView& stored) = 0;
  // A per-channel vector (norm weight, bias) of any float type as f32 [n], owned by the backend.
  virtual Expected<TensorView> prepare_vector(std::string_view name, const TensorView& stored) = 0;
  // Uninitialised memory for activations or KV caches that this backend's ops can use.
  virtual Expected<BackendBuffer> allocate(size_t bytes) = 0;
  virtual Status reserve_scratch(const ScratchPlan& plan) = 0;
  // Element type of the KV caches models make for this backend (store_kv and attention take
  // keys/values of it): f32 unless a backend reads f16 faster (half the bytes per decode step).
  virtual DType kv_cache_dtype() const { return DType::kF32; }

  // --- ops ---------------------------------------------------------------------------------
  // out[T, dim] = rows `tokens` of table [vocab, dim]; OutOfRange for an id outside the table.
  virtual Status embedding(const TensorView& table, std::span<const int32_t> tokens,
                           const TensorView& out) = 0;
  // y[T, N] = x[T, K] . w[N, K]^T (+ bias[N] when not null).
  virtual Status matmul(const TensorView& x, const TensorView& w, const TensorView* bias,
                        const TensorView& y) = 0;
  // y[T, D] = x / sqrt(mean(x^2) + eps) * weight[D], per row.
  virtual Status rms_norm(const TensorView& x, const TensorView& weight, float eps,
                          const TensorView& y) = 0;
  // Rotates x[T, heads, head_dim] in place; row t is at position positions[t].
  virtual Status rope(const TensorView& x, std::span<const int32_t> positions,
                      const RopeSpec& spec) = 0;
  // Causal grouped-query attention. q[T, n_heads, head_dim]; k, v[n_keys, n_kv_heads, head_dim]
  // hold positions 0..n_keys-1; query t sees keys 0..positions[t]. out[T, n_heads, head_dim].
  virtual Status attention(const TensorView& q, const TensorView& k, const TensorView& v,
                           std::span<const int32_t> positions, float scale,
                           const TensorView& out) = 0;
  // out = silu(gate) * up, elementwise.
  virtual Status swiglu(const TensorView& gate, const TensorView& up, const TensorView& out) = 0;
  // out = a + b, elementwise.
  virtual Status add(const TensorView& a, const TensorView& b, const TensorView& out) = 0;
  // dst = src (same dtype and element count), between buffers of this backend.
  virtual Status copy(const TensorView& src, const TensorView& dst) = 0;
  // Copies f32 `src` to host memory (waits for pending work on asynchronous backends).
  virtual Status read(const TensorView& src, std::span<float> dst) = 0;

  // --- fused ops: the defaults compose the ops above; fast backends override them to save a
  // pass over memory or a thread-pool dispatch ------------------------------------------------
  // out_i = x . w_i^T (+ b_i) for every target (q/k/v, or gate/up): one input, several weights.
  virtual Status matmul_shared_input(const TensorView& x, std::span<const MatmulTarget> targets) {
    for (const MatmulTarget& t : targets) {
      if (t.weight == nullptr)
        return invalid_argument("matmul_shared_input: a target has no weight");
      HEARTH_RETURN_IF_ERROR(matmul(x, *t.weight, t.bias, t.out));
    }
    return {};
  }
  // out[T, N] = silu(x . gate^T) * (x . up^T), gate and up [N, K]. `up_out` [T, N] is scratch
  // (the default keeps x . up^T there; fused versions may leave it untouched).
  virtual Status matmul_swiglu(const TensorView& x, const TensorView& gate, const TensorView& up,
                               const TensorView& up_out, const TensorView& out) {
    HEARTH_RETURN_IF_ERROR(matmul(x, gate, nullptr, out));
    HEARTH_RETURN_IF_ERROR(matmul(x, up, nullptr, up_out));
    return swiglu(out, up_out, out);
  }

  // --- steps, KV writes, sampling: the defaults suit backends that run ops as they are called -
  // Checks before the weights are prepared that `bytes` of them fit; a device backend refuses
  // a model too big for it here, with the bytes needed and free.
  virtual Status reserve_weights(uint64_t bytes) {
    (void)bytes;
    return {};
  }
  // Declares the token ids and positions of the next step: its embedding, rope, store_kv and
  // attention calls receive spans equal to these. A backend that replays recorded steps copies
  // them to device memory here, where the recorded work reads them when it runs.
  virtual Status begin_step(std::span<const int32_t> tokens, std::span<const int32_t> positions) {
    (void)tokens;
    (void)positions;
    return {};
  }
  // Runs `ops`, the op calls of one step. A backend may record the work they launch under key.id
  // the first time and replay that recording on later calls instead of calling `ops`.
  virtual Status run_step(const StepKey& key, FunctionRef<Status()> ops) {
    (void)key;
    return ops();
  }
  // Writes k, v [T, n_kv_heads, head_dim] to rows positions[t] of one layer's cache tensors
  // keys, values [capacity, n_kv_heads, head_dim]. OutOfRange for a position past the capacity.
  virtual Status store_kv(const TensorView& k, const TensorView& v,
                          std::span<const int32_t> positions, const TensorView& keys,
                          const TensorView& values) {
    const int64_t n = static_cast<int64_t>(positions.size());
    if (k.shape().rank() != 3 || !(k.shape() == v.shape()) || k.shape()[0] != n ||
        keys.shape().rank() != 3 || !(keys.shape() == values.shape()) ||
        keys.shape()[1] != k.shape()[1] || keys.shape()[2] != k.shape()[2]) {
      return invalid_argument("store_kv: k " + k.shape().to_string() + " and v " +
                              v.shape().to_string() + " do not fit " + std::to_string(n) +
                              " positions of a cache " + keys.shape().to_string());
    }
    const uint64_t row_bytes = k.nbytes() / static_cast<uint64_t>(n == 0 ? 1 : n);
    for (int64_t t = 0, run = 1; t < n; t += run) {
      // Consecutive positions go in one copy.
      run = 1;
      while (t + run < n &&
             positions[static_cast<size_t>(t + run)] == positions[static_cast<size_t>(t)] + run)
        ++run;
      const int64_t pos = positions[static_cast<size_t>(t)];
      if (pos < 0 || pos > keys.shape()[0] - run) {
        return out_of_range("store_kv: positions " + std::to_string(pos) + ".." +
                            std::to_string(pos + run - 1) + " do not fit a cache of " +
                            std::to_string(keys.shape()[0]) + " positions");
      }
      const Shape rows{run, k.shape()[1], k.shape()[2]};
      const auto at = [&](const TensorView& base, int64_t row) {
        return TensorView(
            static_cast<std::byte*>(base.data()) + static_cast<uint64_t>(row) * row_bytes,
            base.dtype(), rows);
      };
      HEARTH_RETURN_IF_ERROR(copy(at(k, t), at(keys, pos)));
      HEARTH_RETURN_IF_ERROR(copy(at(v, t), at(values, pos)));
    }
    return {};
  }
  // The next token from f32 logits [vocab] as `pick` says (token_pick.h). Backends that sample
  // on their device return only the id; the default reads the logits and picks on the host.
  virtual Expected<int32_t> pick_token(const TensorView& logits, const TokenPick& pick) {
    if (logits.dtype() != DType::kF32) return invalid_argument("pick_token: logits must be f32");
    std::vector<float> host(static_cast<size_t>(logits.numel()));
    HEARTH_RETURN_IF_ERROR(read(logits, host));
    return pick_token_on_host(host, pick);
  }
};

}  // namespace hearth
