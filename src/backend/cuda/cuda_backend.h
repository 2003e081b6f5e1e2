// The CUDA backend: one GPU, one stream per backend (so per model), every op an asynchronous
// launch on it. Weights are uploaded once at load and repacked so quant blocks are 16-byte
// aligned (kernels/kernels.h); activations and KV caches are plain cudaMalloc buffers.
//  - Decode (<= kMatvecMaxTokens rows): dp4a / fp32 matrix-vector kernels reading each weight
//    byte once; split-K attention; rope + KV store fused, and each rms_norm and residual add
//    folded into the matvec that reads or produces it, by holding ops back until the op that
//    completes the pattern (cuda_fusion.cpp); the whole step recorded as a CUDA graph by run_step()
//    and replayed per token, with token ids and positions read from device buffers that
//    begin_step() fills.
//  - Prefill: cuBLAS bf16 GEMMs on bf16 copies of the weights (cached while GPU memory allows,
//    else dequantized in chunks per call), flash attention on tensor cores.
//  - pick_token runs on the GPU: only the chosen id comes back.
// Checked op by op against ReferenceBackend (tests/backend/cuda).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/device_buffer.h"
#include "backend/cuda/gemm.h"
#include "backend/cuda/kernels/kernels.h"

namespace hearth::cuda {

// The kernels' name for a KV cache tensor's type (f16 or f32, checked by cpu::check_kv_cache).
inline KvFormat kv_format(const TensorView& t) {
  return t.dtype() == DType::kF16 ? KvFormat::kF16 : KvFormat::kF32;
}

struct CudaBackendOptions {
  int device = 0;
  bool graphs = true;         // record decode steps as CUDA graphs (run_step)
  bool pdl = true;            // programmatic dependent launch between kernels
  bool cache_bf16 = true;     // keep bf16 copies of weights for prefill GEMMs while memory allows
  bool fuse_norm = true;      // decode: rms_norm computed inside the matvec that reads it
  bool fuse_residual = true;  // decode: residual add done by the matvec that produces it
  bool fuse_rope_matvec = true;      // decode: rope(q), rope(k), store_kv done by the q/k/v matvec
  bool fuse_rope_attention = false;  // decode, one token: rope and the KV store inside attention
  // Decode, one token, with the short-block matvecs (tuning.matvec_short): gate/up hands its
  // output to down quantized, o its residual row (times the next norm's weight) to gate/up.
  bool quantized_handoff = true;
  bool kv_f16 = true;   // KV caches in f16 (kv_cache_dtype), else f32
  KernelTuning tuning;  // launch shapes (kernels/kernels.h)
};

class CudaBackend final : public Backend {
 public:
  // Rows of x up to which matmul runs the matrix-vector kernels (weights read once per row).
  static constexpr int64_t kMatvecMaxTokens = 8;

  // FailedPrecondition when no GPU is usable (the CUDA error says why).
  static Expected<std::unique_ptr<CudaBackend>> create(const CudaBackendOptions& options = {});
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string_view name() const override { return "cuda"; }
  int n_threads() const override { return 1; }
  const std::string& device_name() const { return device_name_; }
  int sm_count() const { return ctx_.sm_count; }

  Status reserve_weights(uint64_t bytes) override;
  Expected<TensorView> prepare_matrix(std::string_view name, const TensorView& stored) override;
  Expected<TensorView> prepare_vector(std::string_view name, const TensorView& stored) override;
  Expected<BackendBuffer> allocate(size_t bytes) override;
  Status reserve_scratch(const ScratchPlan& plan) override;
  DType kv_cache_dtype() const override { return options_.kv_f16 ? DType::kF16 : DType::kF32; }

  Status embedding(const TensorView& table, std::span<const int32_t> tokens,
                   const TensorView& out) override;
  Status matmul(const TensorView& x, const TensorView& w, const TensorView* bias,
                const TensorView& y) override;
  Status rms_norm(const TensorView& x, const TensorView& weight, float eps,
                  const TensorView& y) override;
  Status rope(const TensorView& x, std::span<const int32_t> positions,
              const RopeSpec& spec) override;
  Status attention(const TensorView& q, const TensorView& k, const TensorView& v,
                   std::span<const int32_t> positions, float scale, const TensorView& out) override;
  Status swiglu(const TensorView& gate, const TensorView& up, const TensorView& out) override;
  Status add(const TensorView& a, const TensorView& b, const TensorView& out) override;
  Status copy(const TensorView& src, const TensorView& dst) override;
  Status read(const TensorView& src, std::span<float> dst) override;

  Status matmul_shared_input(const TensorView& x, std::span<const MatmulTarget> targets) override;
  Status matmul_swiglu(const TensorView& x, const TensorView& gate, const TensorView& up,
                       const TensorView& up_out, const TensorView& out) override;

  Status begin_step(std::span<const int32_t> tokens, std::span<const int32_t> positions) override;
  Status run_step(const StepKey& key, FunctionRef<Status()> ops) override;
  Status store_kv(const TensorView& k, const TensorView& v, std::span<const int32_t> positions,
                  const TensorView& keys, const TensorView& values) override;
  Expected<int32_t> pick_token(const TensorView& logits, const TokenPick& pick) override;

  // Copies host floats into a device tensor of this backend (tests, tools).
  Status upload(std::span<const float> src, const TensorView& dst);
  // Waits for all queued work; reports any asynchronous error.
  Status synchronize();
  // Recorded steps replayed so far (tests).
  int64_t graph_replays() const { return graph_replays_; }
  int64_t graphs_recorded() const { return graphs_recorded_; }
  // Decode fusions taken so far (tests: a fusion silently not taken would still compute right).
  struct FusionCounts {
    int64_t norm_into_matvec = 0;
    int64_t residual_into_matvec = 0;
    int64_t rope_into_attention = 0;
    int64_t rope_into_matvec = 0;
    int64_t quantized_handoff = 0;  // gate/up -> down
    int64_t normed_handoff = 0;     // o + residual -> rms_norm -> gate/up
  };
  const FusionCounts& fusions() const { return fusions_; }

 private:
  struct PreparedMatrix {
    std::string name;
    DeviceMatrix m;
    DeviceBuffer quants, scales, mins;
    DeviceBuffer bf16;  // [rows, cols] for prefill GEMMs, made on first use when memory allows
    bool bf16_refused = false;
  };
  enum class IdKind : uint8_t { kTokens, kPositions };

  explicit CudaBackend(const CudaBackendOptions& options) : options_(options) {}
  Status init();
  Expected<const PreparedMatrix*> find_matrix(const TensorView& w, std::string_view op) const;
  // Device copy of ids equal to the current step's (begin_step), or a fresh upload outside a
  // recording.
  Expected<const int32_t*> device_ids(std::span<const int32_t> ids, IdKind kind);
  // Where begin_step put the step's positions.
  const int32_t* staged_positions() const {
    return staged_capacity_ > 0 ? step_ids_.as<const int32_t>() + staged_capacity_ : nullptr;
  }
  Status ensure_size(DeviceBuffer& buf, size_t bytes, const char* what);
  Status ensure_scratch(DeviceBuffer& buf, size_t bytes, const char* what);
  Status gemm(const TensorView& x, std::span<const MatmulTarget> targets);
  const void* bf16_weights(PreparedMatrix& pm);
  Status fail_if_recording(const char* op) const;
  void drop_graphs();
  // Decode matvecs of one call: n_tokens launches of one row each.
  struct MatvecCall {
    const float* x = nullptr;  // [n_tokens][k]; the raw rows when the norm is fused
    int64_t n_tokens = 0, k = 0;
    MatvecTarget targets[3];  // y of token 0; token t writes y + t * rows
    int n_targets = 0;
    bool swiglu = false;                 // targets[0] is gate (its y the output), targets[1] up
    const float* norm_weight = nullptr;  // fused rms_norm (see MatvecFusion)
    float* norm_out = nullptr;
    float norm_eps = 0.0f;
    const float* residual_in = nullptr;  // fused residual add, [n_tokens][rows]
    float* residual_out = nullptr;
    bool rope = false;  // fused rope + KV store (q/k/v); token t at rope_args.position + t
    MatvecRope rope_args;
    // One token only: the output also written to quantized row slot quantized_out (-1: none),
    // times quantized_out_norm_weight when set; x read from slot quantized_x, written by the
    // matvec launched just before (with norm_weight: x * norm_weight and its sums of squares).
    int quantized_out = -1;
    const float* quantized_out_norm_weight = nullptr;
    int quantized_x = -1;
  };
  Status launch_matvecs(const MatvecCall& call);
  // Two slots, so that a matvec reading one can write the other (o -> gate/up -> down).
  QuantizedRow quantized_row(int slot) const;

  // Decode ops held back to run fused with the op that follows (cuda_fusion.cpp): rope on q and
  // k with store_kv; rms_norm with the matvec that reads its output; a one-weight matvec with
  // the residual add of its output; a residual add with the next rms_norm. Every other op first
  // launches what is pending, so the work runs in call order. Only one pattern is held at a time.
  Status flush_pending();
  void drop_pending();
  bool only_ropes_pending() const {
    return !pending_add_ && !pending_norm_ && !pending_matvec_ && !pending_store_;
  }
  bool defer_add(const TensorView& a, const TensorView& b, const TensorView& out);
  Expected<bool> fuse_add_rms_norm(const TensorView& x, const TensorView& weight, float eps,
                                   const TensorView& y);
  Status defer_rope(const TensorView& x, const int32_t* positions, const RopeParams& params);
  void hold_rope(const TensorView& x, const int32_t* positions, const RopeParams& params);
  Expected<bool> fuse_rope_store_kv(const TensorView& k, const TensorView& v,
                                    const int32_t* positions, const TensorView& keys,
                                    const TensorView& values);
  bool defer_norm(const TensorView& x, const TensorView& weight, float eps, const TensorView& y);
  // Takes a held-back rms_norm whose output is call.x into the call, or launches what is held.
  Status take_norm(MatvecCall& call);
  bool defer_matvec(const MatvecCall& call);
  // rope(x) of the q or k output of a held q/k/v matvec, held with it; false when not that.
  bool defer_rope_into_matvec(const TensorView& x, const int32_t* positions,
                              const RopeParams& params);
  // store_kv(k, v) completing matvec(q, k, v) -> rope(q) -> rope(k): one launch.
  Expected<bool> fuse_matvec_rope_store(const TensorView& k, const TensorView& v,
                                        const int32_t* positions, const TensorView& keys,
                                        const TensorView& values);
  Expected<bool> fuse_matvec_add(const TensorView& a, const TensorView& b, const TensorView& out);
  // A one-token swiglu is held back for the matvec that reads its output (the down projection):
  // launched then with its output quantized, which that matvec reads instead of quantizing it.
  bool defer_swiglu(const MatvecCall& call);
  Status take_quantized_x(MatvecCall& call);
  // A held o matvec with its residual add, and the rms_norm of that residual, for the matvec
  // that reads the norm's output (gate/up): o then writes its row quantized for that matvec.
  bool can_hand_over_normed(const MatvecCall& producer) const;
  bool defer_norm_behind_matvec(const TensorView& x, const TensorView& weight, float eps,
                                const TensorView& y);
  Status take_normed_handoff(MatvecCall& call);

  CudaBackendOptions options_;
  std::string device_name_;
  size_t total_memory_ = 0;
  LaunchContext ctx_;
  Gemm gemm_;
  std::unordered_map<const void*, std::unique_ptr<PreparedMatrix>> matrices_;
  std::vector<DeviceBuffer> vectors_;  // prepared norm weights and biases

  // Step inputs: pinned host copies (compared with the spans ops receive) and device copies.
  PinnedBuffer staged_;  // [2][max ids]: tokens then positions
  DeviceBuffer step_ids_;
  int64_t staged_capacity_ = 0;
  int64_t step_tokens_ = -1, step_positions_ = -1;  // counts declared by begin_step
  cudaEvent_t staged_copied_ = nullptr;
  DeviceBuffer adhoc_tokens_, adhoc_positions_;

  // Scratch, sized by reserve_scratch (recorded steps bake these pointers in).
  int64_t max_tokens_ = 1, max_inner_ = 0, max_heads_ = 0;
  DeviceBuffer attention_scratch_, attention_counters_;
  DeviceBuffer quantized_rows_;  // two QuantizedRows of max_inner_ values (quantized_handoff)
  DeviceBuffer x_bf16_, w_chunk_bf16_;
  DeviceBuffer pick_state_, pick_out_;
  PinnedBuffer pick_host_, read_staging_;

  struct PendingRope {
    float* x = nullptr;
    int64_t n_tokens = 0, heads = 0, head_dim = 0;
    const int32_t* positions = nullptr;
    RopeParams params{};
  };
  struct PendingAdd {
    const float* a = nullptr;
    const float* b = nullptr;
    float* out = nullptr;
    int64_t n = 0;
  };
  PendingRope ropes_[2];
  int pending_ropes_ = 0;
  PendingAdd add_;
  bool pending_add_ = false;
  struct PendingNorm {
    const float* x = nullptr;
    const float* weight = nullptr;
    float* y = nullptr;
    float eps = 0.0f;
    int64_t rows = 0, cols = 0;
  };
  PendingNorm norm_;
  bool pending_norm_ = false;
  MatvecCall matvec_;
  bool pending_matvec_ = false;
  // store_kv after the two ropes, held for the attention that reads the cache (one token).
  struct PendingStore {
    const float* v = nullptr;
    KvFormat kv = KvFormat::kF16;
    void* keys = nullptr;
    void* values = nullptr;
  };
  PendingStore store_;
  bool pending_store_ = false;

  // Recorded decode steps, most recent last.
  std::list<std::pair<uint64_t, cudaGraphExec_t>> graphs_;
  bool recording_ = false;
  int64_t graph_replays_ = 0, graphs_recorded_ = 0;
  FusionCounts fusions_;
};

}  // namespace hearth::cuda
