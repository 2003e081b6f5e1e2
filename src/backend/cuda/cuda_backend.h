// The CUDA backend: one GPU, one stream per backend (so per model), every op an asynchronous
// launch on it. Weights are uploaded once at load and repacked so quant blocks are 16-byte
// aligned (kernels/kernels.h); activations and KV caches are plain cudaMalloc buffers.
//  - Decode (<= kMatvecMaxTokens rows): dp4a / fp32 matrix-vector kernels reading each weight
//    byte once; split-K attention; the whole step recorded as a CUDA graph by run_step() and
//    replayed per token, with token ids and positions read from device buffers that
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

struct CudaBackendOptions {
  int device = 0;
  bool graphs = true;      // record decode steps as CUDA graphs (run_step)
  bool pdl = true;         // programmatic dependent launch between kernels
  bool cache_bf16 = true;  // keep bf16 copies of weights for prefill GEMMs while memory allows
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
  Status ensure_size(DeviceBuffer& buf, size_t bytes, const char* what);
  Status ensure_scratch(DeviceBuffer& buf, size_t bytes, const char* what);
  Status gemm(const TensorView& x, std::span<const MatmulTarget> targets);
  const void* bf16_weights(PreparedMatrix& pm);
  Status fail_if_recording(const char* op) const;
  void drop_graphs();

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
  DeviceBuffer x_bf16_, w_chunk_bf16_;
  DeviceBuffer pick_state_, pick_out_;
  PinnedBuffer pick_host_, read_staging_;

  // Recorded decode steps, most recent last.
  std::list<std::pair<uint64_t, cudaGraphExec_t>> graphs_;
  bool recording_ = false;
  int64_t graph_replays_ = 0, graphs_recorded_ = 0;
};

}  // namespace hearth::cuda
